package pgstore

import (
	"strconv"
	"strings"

	"github.com/authframe/authframe/core/store"
)

// queries holds every statement of a Store, rendered once for its schema and prefix. The
// texts are constant per Store, so pgx's per-connection statement cache prepares each one
// once and later calls are a single Bind/Execute round trip.
//
// Time comparisons use a now passed from Go rather than the server's now(): the deadlines
// in the rows were computed by the application's clock, and comparing against the same
// clock keeps expiry exact whatever the skew between the application and the database.
type queries struct {
	createUser, createUsers, getUser, getUserByName, updateUser string

	createSession, deleteExpiredSession, getSession, touchSession, deleteSession, listSessions string

	addRefresh, addSpentRefresh, rotate string

	addRowRefresh, rotateRow, classifyRow string

	addRevocation, revocationsSince string

	hit  string
	peek string

	createClient, getClient, listClients, deleteClient string

	createAPIKey, deleteExpiredAPIKey, getAPIKeyByHash, listAPIKeys, deleteAPIKey, touchAPIKey string

	putMFA, getMFA, confirmMFA, deleteMFA, useTOTPStep, useRecoveryCode string

	remember string

	stats                                             string
	exportUsers, exportSessions, exportRefresh        string
	cleanupSessions, cleanupRevocations, cleanupRates string
	cleanupAPIKeys, cleanupReplay                     string
}

const (
	userCols    = "id, username, password_hash, roles, created_at, updated_at, disabled"
	sessionCols = "id, user_id, username, roles, kind, csrf_hash, user_agent, ip, created_at, last_seen_at, idle_timeout, expires_at, amr, auth_time, jkt"
	clientCols  = "id, name, scopes, secret_hash, created_at, disabled"
	apiKeyCols  = "id, user_id, name, permissions, hash, created_at, expires_at, last_used_at, username"
	mfaCols     = "user_id, sealed_secret, confirmed, last_step, recovery_hashes, created_at"
)

// deadlineAfter is the session deadline once last_seen_at becomes lastSeen (an SQL
// expression): the sooner of the absolute and the idle deadline, as store.Session.Deadline.
func deadlineAfter(lastSeen string) string {
	return "CASE WHEN idle_timeout > interval '0' THEN LEAST(expires_at, " + lastSeen + " + idle_timeout) ELSE expires_at END"
}

// keyLiveAt is the condition of an API key that has not expired at now (an SQL
// expression); a NULL expires_at is a key that never expires.
func keyLiveAt(now string) string {
	return "(expires_at IS NULL OR expires_at > " + now + "::timestamptz)"
}

func buildQueries(n names) queries {
	users, sessions, refresh := n.table("users"), n.table("sessions"), n.table("refresh_tokens")
	revocations, rates := n.table("revocations"), n.table("rate_limits")
	clients, apiKeys := n.table("clients"), n.table("api_keys")
	mfa, replay := n.table("mfa"), n.table("replay")
	r := strings.NewReplacer(
		"{mfa}", mfa,
		"{mfaCols}", mfaCols,
		"{replay}", replay,
		"{users}", users,
		"{sessions}", sessions,
		"{refresh}", refresh,
		"{revocations}", revocations,
		"{rates}", rates,
		"{clients}", clients,
		"{apiKeys}", apiKeys,
		"{clientCols}", clientCols,
		"{apiKeyCols}", apiKeyCols,
		"{keyLive2}", keyLiveAt("$2"),
		"{keyLive3}", keyLiveAt("$3"),
		"{userCols}", userCols,
		"{sessionCols}", sessionCols,
		"{touchDeadline}", deadlineAfter("GREATEST(last_seen_at, $2::timestamptz)"),
		"{rotateDeadline}", deadlineAfter("GREATEST(last_seen_at, $4::timestamptz)"),
		"{kept}", strconv.Itoa(store.SpentRefreshKept),
		"{cleanupBatch}", strconv.Itoa(cleanupBatch),
	)
	sql := r.Replace
	return queries{
		createUser: sql(`INSERT INTO {users} ({userCols})
			VALUES ($1, $2, $3, coalesce($4::text[], '{}'), $5, $6, $7)`),
		createUsers: sql(`INSERT INTO {users} ({userCols})
			SELECT id, username, password_hash, coalesce(roles, '{}'), created_at, updated_at, disabled
			FROM jsonb_to_recordset($1::jsonb) AS x(id text, username text, password_hash text,
				roles text[], created_at timestamptz, updated_at timestamptz, disabled boolean)
			ON CONFLICT DO NOTHING
			RETURNING id`),
		getUser:       sql(`SELECT {userCols} FROM {users} WHERE id = $1`),
		getUserByName: sql(`SELECT {userCols} FROM {users} WHERE username = $1`),
		updateUser: sql(`UPDATE {users}
			SET password_hash = $2, roles = coalesce($3::text[], '{}'), updated_at = $4, disabled = $5
			WHERE id = $1`),

		createSession: sql(`INSERT INTO {sessions} ({sessionCols}, deadline)
			VALUES ($1, $2, $3, coalesce($4::text[], '{}'), $5, $6, $7, $8, $9,
				$10::timestamptz, $11::interval, $12::timestamptz, coalesce($13::text[], '{}'), $14::timestamptz, $15,
				CASE WHEN $11::interval > interval '0'
					THEN LEAST($12::timestamptz, $10::timestamptz + $11::interval)
					ELSE $12::timestamptz END)`),
		deleteExpiredSession: sql(`DELETE FROM {sessions} WHERE id = $1 AND deadline <= $2`),
		getSession:           sql(`SELECT {sessionCols} FROM {sessions} WHERE id = $1 AND deadline > $2`),
		touchSession: sql(`UPDATE {sessions}
			SET last_seen_at = GREATEST(last_seen_at, $2::timestamptz), deadline = {touchDeadline}
			WHERE id = $1 AND deadline > $3`),
		deleteSession: sql(`DELETE FROM {sessions} WHERE id = $1 RETURNING deadline > $2`),
		listSessions: sql(`SELECT {sessionCols} FROM {sessions}
			WHERE user_id = $1 AND deadline > $2 ORDER BY created_at, id`),

		addRefresh: sql(`INSERT INTO {refresh} (hash, session_id, spent, created_at)
			SELECT $2::bytea, id, false, $3::timestamptz FROM {sessions} WHERE id = $1 AND deadline > $4`),
		// A token added as spent (a migration copying a family) is a spend: it takes the
		// family's next spend number and forgets the spent token it pushes out, as a rotation
		// does. The answer is the number of tokens added, 1 or 0 (the session is not live).
		addSpentRefresh: sql(`WITH live AS (
				UPDATE {sessions} SET refresh_seq = refresh_seq + 1
				WHERE id = $1 AND deadline > $4
				RETURNING id, refresh_seq AS seq
			), added AS (
				INSERT INTO {refresh} (hash, session_id, spent, spent_seq, created_at)
				SELECT $2::bytea, id, true, seq, $3::timestamptz FROM live
				RETURNING session_id
			), forgotten AS (
				DELETE FROM {refresh}
				WHERE session_id = (SELECT session_id FROM added)
					AND spent AND spent_seq = (SELECT seq FROM live) - {kept}
			)
			SELECT count(*) FROM added`),

		// One statement, so one round trip and one implicit transaction, whatever the
		// outcome:
		//
		//   live       locks the session row if it is live, and numbers this spend. Every
		//              rotation of a family, and DeleteSession, lock that row first, so
		//              they serialize on it and never deadlock against each other on the
		//              token rows; and the locking read sees the latest spend number.
		//   spend      marks the token spent, with its number, only if it is unspent (a
		//              conditional UPDATE: of fifty concurrent spends one matches, the
		//              others re-check the committed row and match nothing).
		//   fresh      adds the new token to the family when the spend happened.
		//   touched    moves last_seen_at, the deadline and the spend count, and returns
		//              the session.
		//   forgotten  when the spend happened, deletes the spent token numbered
		//              store.SpentRefreshKept spends before it, so that the family keeps its
		//              last store.SpentRefreshKept: one probe of the spent_seq index, never a
		//              search of the family, which would also walk the dead rows that
		//              refreshes leave until a vacuum.
		//   reused     when nothing was spent but the token is in the family, it was spent
		//              before: delete the session, and with it (ON DELETE CASCADE) the
		//              family.
		//
		// The answer is one row (reused = false, the session) on success, one row (reused =
		// true) on reuse, and no row when the token or the live session is unknown.
		rotate: sql(`WITH live AS (
				SELECT id, refresh_seq + 1 AS seq FROM {sessions}
				WHERE id = $1 AND deadline > $5::timestamptz FOR NO KEY UPDATE
			), spend AS (
				UPDATE {refresh} SET spent = true, spent_seq = (SELECT seq FROM live)
				WHERE session_id = (SELECT id FROM live) AND hash = $2::bytea AND NOT spent
				RETURNING session_id
			), fresh AS (
				INSERT INTO {refresh} (hash, session_id, spent, created_at)
				SELECT $3::bytea, session_id, false, $4::timestamptz FROM spend
				RETURNING session_id
			), touched AS (
				UPDATE {sessions}
				SET last_seen_at = GREATEST(last_seen_at, $4::timestamptz), deadline = {rotateDeadline},
					refresh_seq = (SELECT seq FROM live)
				WHERE id = (SELECT session_id FROM fresh)
				RETURNING {sessionCols}
			), forgotten AS (
				DELETE FROM {refresh}
				WHERE session_id = (SELECT session_id FROM spend)
					AND spent AND spent_seq = (SELECT seq FROM live) - {kept}
			), reused AS (
				DELETE FROM {sessions}
				WHERE id = (SELECT id FROM live)
					AND NOT EXISTS (SELECT 1 FROM spend)
					AND EXISTS (SELECT 1 FROM {refresh} WHERE session_id = $1 AND hash = $2::bytea)
				RETURNING {sessionCols}
			)
			SELECT false, {sessionCols} FROM touched
			UNION ALL
			SELECT true, {sessionCols} FROM reused`),

		// A family in its session row (schema version 10). The slice keeps the last
		// store.SpentRefreshKept spent hashes once the spent one is appended.
		//
		// rotateRow is the whole rotation when it succeeds: one UPDATE of one row, under
		// the conditions that make it safe (the session is live, the old token is unspent,
		// the new one is not in the family). Of concurrent rotations of one token, the
		// first locks the row and the others re-check the committed row and match nothing.
		// No row comes back otherwise, and classifyRow says why.
		rotateRow: sql(`UPDATE {sessions} SET
				refresh_live = array_replace(refresh_live, $2::bytea, $3::bytea),
				refresh_spent = (refresh_spent || $2::bytea)[greatest(1, cardinality(refresh_spent) + 2 - {kept}):],
				last_seen_at = GREATEST(last_seen_at, $4::timestamptz), deadline = {rotateDeadline}
			WHERE id = $1 AND deadline > $5::timestamptz AND $2::bytea = ANY(refresh_live)
				AND NOT ($3::bytea = ANY(refresh_live)) AND NOT ($3::bytea = ANY(refresh_spent))
			RETURNING {sessionCols}`),
		// classifyRow, after rotateRow matched nothing, locks the live session and says
		// whether the old token is unspent or spent in the row and the new one already in
		// it; an old token spent in the row is a reuse, and the session is deleted in the
		// same statement. No row: the session is not live.
		classifyRow: sql(`WITH cur AS (
				SELECT id, $2::bytea = ANY(refresh_live) AS live_old, $2::bytea = ANY(refresh_spent) AS spent_old,
					($3::bytea = ANY(refresh_live) OR $3::bytea = ANY(refresh_spent)) AS has_new
				FROM {sessions} WHERE id = $1 AND deadline > $4::timestamptz FOR NO KEY UPDATE
			), reused AS (
				DELETE FROM {sessions} WHERE id = (SELECT id FROM cur WHERE spent_old AND NOT live_old)
				RETURNING 1
			)
			SELECT live_old, spent_old, has_new FROM cur`),
		// addRowRefresh adds a token to the row of a live session, unspent or ($3) as its
		// latest spend; the answer is whether the hash is already in the family (in the row
		// or the table), no row when the session is not live.
		addRowRefresh: sql(`WITH cur AS (
				SELECT id, ($2::bytea = ANY(refresh_live) OR $2::bytea = ANY(refresh_spent)
					OR EXISTS (SELECT 1 FROM {refresh} WHERE session_id = $1 AND hash = $2::bytea)) AS dup
				FROM {sessions} WHERE id = $1 AND deadline > $4::timestamptz FOR NO KEY UPDATE
			), added AS (
				UPDATE {sessions} SET
					refresh_live = CASE WHEN $3::boolean THEN refresh_live ELSE refresh_live || $2::bytea END,
					refresh_spent = CASE WHEN $3::boolean
						THEN (refresh_spent || $2::bytea)[greatest(1, cardinality(refresh_spent) + 2 - {kept}):]
						ELSE refresh_spent END
				WHERE id = (SELECT id FROM cur WHERE NOT dup)
				RETURNING 1
			)
			SELECT dup FROM cur`),

		// The row and its notification commit together: a listener never hears of a
		// revocation that is not stored, and none is stored without being announced.
		addRevocation: sql(`WITH ins AS (
				INSERT INTO {revocations} (kind, key, at, expires_at) VALUES ($1, $2, $3, $4) RETURNING 1
			)
			SELECT pg_notify($5, $6) FROM ins`),
		// Exactly the plan of the plainest read: one range scan of the at index, already in
		// order. The expiry filter and the order of ties by id are applied by the caller
		// (revocationsSince): in SQL, a generic plan (pgx prepares the statement, and
		// PostgreSQL switches to a generic plan after five runs) scans the expires_at index,
		// every unexpired revocation, and sorts, which grows with the table; and ORDER BY at,
		// id adds a sort node the at index cannot serve.
		revocationsSince: sql(`SELECT kind, key, at, expires_at, id FROM {revocations}
			WHERE at >= $1 ORDER BY at`),

		hit: sql(`INSERT INTO {rates} AS r (key, count, reset_at) VALUES ($1, 1, $3::timestamptz)
			ON CONFLICT (key) DO UPDATE SET
				count    = CASE WHEN r.reset_at <= $2::timestamptz THEN 1 ELSE r.count + 1 END,
				reset_at = CASE WHEN r.reset_at <= $2::timestamptz THEN excluded.reset_at ELSE r.reset_at END
			RETURNING count, reset_at`),

		peek: sql(`SELECT count, reset_at FROM {rates} WHERE key = $1 AND reset_at > $2`),

		createClient: sql(`INSERT INTO {clients} ({clientCols})
			VALUES ($1, $2, coalesce($3::text[], '{}'), coalesce($4::bytea, ''), $5, $6)`),
		getClient:    sql(`SELECT {clientCols} FROM {clients} WHERE id = $1`),
		listClients:  sql(`SELECT {clientCols} FROM {clients} ORDER BY created_at, id`),
		deleteClient: sql(`DELETE FROM {clients} WHERE id = $1`),

		createAPIKey: sql(`INSERT INTO {apiKeys} ({apiKeyCols})
			VALUES ($1, $2, $3, coalesce($4::text[], '{}'), coalesce($5::bytea, ''), $6, $7, $8, $9)`),
		deleteExpiredAPIKey: sql(`DELETE FROM {apiKeys} WHERE (id = $1 OR hash = $2) AND expires_at <= $3`),
		getAPIKeyByHash:     sql(`SELECT {apiKeyCols} FROM {apiKeys} WHERE hash = $1 AND {keyLive2}`),
		listAPIKeys: sql(`SELECT {apiKeyCols} FROM {apiKeys}
			WHERE user_id = $1 AND {keyLive2} ORDER BY created_at, id`),
		deleteAPIKey: sql(`DELETE FROM {apiKeys} WHERE id = $1 AND user_id = $2 RETURNING {keyLive3}`),
		touchAPIKey: sql(`UPDATE {apiKeys} SET last_used_at = GREATEST(last_used_at, $2::timestamptz)
			WHERE id = $1 AND {keyLive3}`),

		// A pending record is replaced, a confirmed one is not: no row comes back then.
		putMFA: sql(`INSERT INTO {mfa} AS m ({mfaCols})
			VALUES ($1, coalesce($2::bytea, ''), $3, $4, coalesce($5::bytea[], '{}'), $6)
			ON CONFLICT (user_id) DO UPDATE SET
				sealed_secret = excluded.sealed_secret, confirmed = excluded.confirmed,
				last_step = excluded.last_step, recovery_hashes = excluded.recovery_hashes,
				created_at = excluded.created_at
			WHERE NOT m.confirmed
			RETURNING 1`),
		getMFA: sql(`SELECT {mfaCols} FROM {mfa} WHERE user_id = $1`),
		// The conditional UPDATE decides; the second column reads the row as it was before
		// the statement (a CTE's changes are not visible to the rest of its statement), so
		// that a refusal says whether the record was missing, held another secret, or was
		// confirmed already.
		confirmMFA: sql(`WITH done AS (
				UPDATE {mfa} SET confirmed = true, last_step = $3, recovery_hashes = coalesce($4::bytea[], '{}')
				WHERE user_id = $1 AND NOT confirmed AND sealed_secret = $2::bytea
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM done), (SELECT confirmed FROM {mfa} WHERE user_id = $1)`),
		deleteMFA: sql(`DELETE FROM {mfa} WHERE user_id = $1`),
		// Of concurrent uses of one step, the first UPDATE locks the row; the others wait
		// for it, re-check the condition against the committed row, and match nothing.
		useTOTPStep: sql(`WITH done AS (
				UPDATE {mfa} SET last_step = $2 WHERE user_id = $1 AND confirmed AND last_step < $2
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM done), EXISTS (SELECT 1 FROM {mfa} WHERE user_id = $1 AND confirmed)`),
		useRecoveryCode: sql(`WITH done AS (
				UPDATE {mfa} SET recovery_hashes = array_remove(recovery_hashes, $2::bytea)
				WHERE user_id = $1 AND confirmed AND $2::bytea = ANY (recovery_hashes)
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM done), EXISTS (SELECT 1 FROM {mfa} WHERE user_id = $1 AND confirmed)`),

		// A row comes back when the key is new or its row had expired (taken over); none
		// when it is remembered. Concurrent inserts of one key wait on the first, then see
		// its committed, unexpired row and return nothing.
		remember: sql(`INSERT INTO {replay} AS r (key, expires_at) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
			WHERE r.expires_at <= $3::timestamptz
			RETURNING 1`),

		stats: sql(`SELECT
				(SELECT count(*) FROM {users}),
				count(*),
				count(*) FILTER (WHERE kind = 'token'),
				(SELECT count(*) FROM {revocations} WHERE expires_at > $1)
			FROM {sessions} WHERE deadline > $1`),
		exportUsers: sql(`SELECT {userCols} FROM {users} WHERE id > $1 ORDER BY id LIMIT $2`),
		exportSessions: sql(`SELECT {sessionCols} FROM {sessions}
			WHERE id > $1 AND deadline > $2 ORDER BY id LIMIT $3`),
		// A family in the table first, in hash order; a spent token there without a number
		// (0) was spent by a release older than schema version 2 during a rolling upgrade:
		// it is left out, so that an export holds no more than the family's last
		// store.SpentRefreshKept spent tokens. Then a family in the row: its spent tokens
		// in the order they were spent, then the unspent; the row keeps no creation times
		// (NULL).
		exportRefresh: sql(`SELECT hash, spent, created_at FROM (
				SELECT 0 AS part, 0::bigint AS ord, r.hash, r.spent, r.created_at
				FROM {refresh} r JOIN {sessions} s ON s.id = r.session_id
				WHERE r.session_id = $1 AND s.deadline > $2
					AND (NOT r.spent OR r.spent_seq > greatest(s.refresh_seq - {kept}, 0))
				UNION ALL
				SELECT 1, t.ord, t.hash, true, NULL::timestamptz
				FROM {sessions} s, unnest(s.refresh_spent) WITH ORDINALITY AS t(hash, ord)
				WHERE s.id = $1 AND s.deadline > $2
				UNION ALL
				SELECT 2, t.ord, t.hash, false, NULL::timestamptz
				FROM {sessions} s, unnest(s.refresh_live) WITH ORDINALITY AS t(hash, ord)
				WHERE s.id = $1 AND s.deadline > $2
			) f ORDER BY part, ord, hash`),

		// Batches with SKIP LOCKED: several instances can clean at once, and a batch never
		// waits on a row that live traffic holds.
		// Each batch is the expired rows found by one range scan of the expiry index,
		// locked, then deleted by key through the primary key, whatever plan PostgreSQL
		// caches for the statement. Written as IN (subquery) with the batch size a
		// parameter, the generic plan (pgx prepares the statement; PostgreSQL switches to a
		// generic plan after five runs) hashed the batch and scanned the whole table for it:
		// every batch cost as much as the table, and a sweep of a backlog grew with its
		// square.
		cleanupSessions: sql(`DELETE FROM {sessions} WHERE id = ANY(ARRAY(
			SELECT id FROM {sessions} WHERE deadline <= $1 LIMIT {cleanupBatch} FOR UPDATE SKIP LOCKED))`),
		cleanupRevocations: sql(`DELETE FROM {revocations} WHERE id = ANY(ARRAY(
			SELECT id FROM {revocations} WHERE expires_at <= $1 LIMIT {cleanupBatch} FOR UPDATE SKIP LOCKED))`),
		cleanupRates: sql(`DELETE FROM {rates} WHERE key = ANY(ARRAY(
			SELECT key FROM {rates} WHERE reset_at <= $1 LIMIT {cleanupBatch} FOR UPDATE SKIP LOCKED))`),
		cleanupAPIKeys: sql(`DELETE FROM {apiKeys} WHERE id = ANY(ARRAY(
			SELECT id FROM {apiKeys} WHERE expires_at <= $1 LIMIT {cleanupBatch} FOR UPDATE SKIP LOCKED))`),
		cleanupReplay: sql(`DELETE FROM {replay} WHERE key = ANY(ARRAY(
			SELECT key FROM {replay} WHERE expires_at <= $1 LIMIT {cleanupBatch} FOR UPDATE SKIP LOCKED))`),
	}
}
