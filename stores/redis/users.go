package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// CreateUser implements store.UserStore. The user's record and the claim on its username
// live in different Cluster slots, so creation is three steps, ordered so that no crash
// between them leaves a username claimed by a user who does not exist: the record is
// created only if the id is free (a script), then the username is claimed with SET NX (of
// concurrent registrations of one name exactly one wins; each loser deletes the record it
// made and gets ErrConflict), then the id joins the export index. A crash after the first
// step leaves a record that no username leads to.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	const op = "create user"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	userKey := s.k.user(u.ID)
	created, err := createUserScript.Run(ctx, s.c, []string{userKey}, userArgs(&u)...).Int()
	if err != nil {
		return s.leave(op, probe, err)
	}
	if created == 0 {
		s.leave(op, probe, nil)
		return store.ErrConflict
	}
	claimed, err := s.c.SetNX(ctx, s.k.username(u.Username), u.ID, 0).Result()
	if err != nil || !claimed {
		// The record is ours: no one else could create it under this id.
		derr := s.c.Del(context.WithoutCancel(ctx), userKey).Err()
		if err == nil {
			s.leave(op, probe, derr)
			return store.ErrConflict
		}
		return s.leave(op, probe, err)
	}
	if err := s.c.ZAdd(ctx, s.k.users, redis.Z{Member: u.ID}).Err(); err != nil {
		// Undo, so that a retry of the registration is not refused.
		bg := context.WithoutCancel(ctx)
		_ = releaseClaimScript.Run(bg, s.c, []string{s.k.username(u.Username)}, u.ID).Err()
		_ = s.c.Del(bg, userKey).Err()
		return s.leave(op, probe, err)
	}
	return s.leave(op, probe, nil)
}

// GetUser implements store.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, bool, error) {
	const op = "get user"
	probe, err := s.enter(op)
	if err != nil {
		return store.User{}, false, err
	}
	m, err := s.c.HGetAll(ctx, s.k.user(id)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return store.User{}, false, err
	}
	if len(m) == 0 {
		return store.User{}, false, nil
	}
	u, err := decodeUser(id, m)
	if err != nil {
		return store.User{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return u, true, nil
}

// GetUserByUsername implements store.UserStore.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, bool, error) {
	const op = "get user by username"
	probe, err := s.enter(op)
	if err != nil {
		return store.User{}, false, err
	}
	id, err := s.c.Get(ctx, s.k.username(username)).Result()
	if errors.Is(err, redis.Nil) {
		s.leave(op, probe, nil)
		return store.User{}, false, nil
	}
	if err != nil {
		return store.User{}, false, s.leave(op, probe, err)
	}
	m, err := s.c.HGetAll(ctx, s.k.user(id)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return store.User{}, false, err
	}
	// A claim whose record is gone (a registration that crashed half way) finds nobody.
	if len(m) == 0 || m[uName] != username {
		return store.User{}, false, nil
	}
	u, err := decodeUser(id, m)
	if err != nil {
		return store.User{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return u, true, nil
}

// UpdateUser implements store.UserStore: it replaces the password hash, the roles, the
// Disabled flag and UpdatedAt of an existing user.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	const op = "update user"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	n, err := updateUserScript.Run(ctx, s.c, []string{s.k.user(u.ID)}, u.PasswordHash, encodeRoles(u.Roles), ms(u.UpdatedAt), flag(u.Disabled)).Int()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
