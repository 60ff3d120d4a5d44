package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"allot/store"
)

// LoadObjects calls fn for every object of the tenant, ordered by kind then
// id (byte order). The load reads one consistent snapshot (one statement);
// commits made meanwhile are not seen. fn may keep the Body it is given. An
// error from fn stops the load and is returned as it is. The load holds one
// of the pool's connections until it ends, so a fn that calls the store
// needs a pool larger than the number of loads running at once
// (pool_max_conns in the URL).
func (s *Store) LoadObjects(ctx context.Context, tenantID string, fn func(store.Object) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.leave()
	rows, err := s.pool.Query(ctx, `SELECT kind, id, body FROM objects WHERE tenant_id = $1 ORDER BY kind, id`, tenantID)
	if err != nil {
		return fmt.Errorf("store/postgres: load objects of %q: %w", tenantID, err)
	}
	defer rows.Close()
	var kind string
	for rows.Next() {
		var o store.Object
		if err := rows.Scan(&kind, &o.ID, &o.Body); err != nil {
			return fmt.Errorf("store/postgres: load objects of %q: %w", tenantID, err)
		}
		o.Kind = store.Kind(kind)
		if err := fn(o); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/postgres: load objects of %q: %w", tenantID, err)
	}
	return nil
}

// GetObject returns one object or store.ErrNotFound.
func (s *Store) GetObject(ctx context.Context, tenantID string, kind store.Kind, id string) (store.Object, error) {
	if err := s.life.enter(); err != nil {
		return store.Object{}, err
	}
	defer s.life.leave()
	o := store.Object{Kind: kind, ID: id}
	err := s.pool.QueryRow(ctx, `SELECT body FROM objects WHERE tenant_id = $1 AND kind = $2 AND id = $3`,
		tenantID, string(kind), id).Scan(&o.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Object{}, fmt.Errorf("store/postgres: object %s %q of tenant %q: %w", kind, id, tenantID, store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("store/postgres: get object %s %q of tenant %q: %w", kind, id, tenantID, err)
	}
	return o, nil
}
