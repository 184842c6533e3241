package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Roles, &u.CreatedAt, &u.UpdatedAt, &u.Disabled)
	return u, err
}

// CreateUser implements store.UserStore. A taken id or username is store.ErrConflict,
// decided by the table's unique indexes, so concurrent registrations of one name cannot
// both win.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	c, err := s.begin(ctx, "create user", true)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(c.ctx, s.q.createUser, u.ID, u.Username, u.PasswordHash, u.Roles, u.CreatedAt, u.UpdatedAt, u.Disabled)
	s.end(c, err)
	if err != nil {
		if pgCode(err) == codeUniqueViolation {
			return store.ErrConflict
		}
		return wrap("create user", err)
	}
	return nil
}

// GetUser implements store.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, bool, error) {
	return s.getUser(ctx, s.q.getUser, id)
}

// GetUserByUsername implements store.UserStore.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, bool, error) {
	return s.getUser(ctx, s.q.getUserByName, username)
}

func (s *Store) getUser(ctx context.Context, query, arg string) (store.User, bool, error) {
	c, err := s.begin(ctx, "get user", true)
	if err != nil {
		return store.User{}, false, err
	}
	u, err := scanUser(s.pool.QueryRow(c.ctx, query, arg))
	s.end(c, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.User{}, false, nil
		}
		return store.User{}, false, wrap("get user", err)
	}
	return u, true, nil
}

// UpdateUser implements store.UserStore: it replaces the password hash, the roles, the
// disabled flag and UpdatedAt; store.ErrNotFound when there is no such user.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	c, err := s.begin(ctx, "update user", true)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(c.ctx, s.q.updateUser, u.ID, u.PasswordHash, u.Roles, u.UpdatedAt, u.Disabled)
	s.end(c, err)
	if err != nil {
		return wrap("update user", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}
