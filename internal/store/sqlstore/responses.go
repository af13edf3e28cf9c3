package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

const responseColumns = `id, key_id, previous_id, created_at, model, body, input_items, conversation, instructions`

// storableID reports whether id can be a key of a text column. A client
// names stored responses by id (GET /v1/responses/{id}); one PostgreSQL
// cannot hold (NUL, invalid UTF-8) names nothing rather than failing the
// query.
func (s *DB) storableID(id string) bool {
	return s.d.CleanText == nil || s.d.CleanText(id) == id
}

// blob is b as a bind argument of a NOT NULL binary column: database/sql
// binds a nil slice as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PutResponse implements store.Store.
func (s *DB) PutResponse(ctx context.Context, r store.StoredResponse) error {
	if r.ID == "" {
		return fmt.Errorf("%s: put response: empty id", s.d.Name)
	}
	for _, id := range []string{r.ID, r.KeyID, r.PreviousID} {
		if !s.storableID(id) {
			return fmt.Errorf("%s: put response: id %q is not valid text", s.d.Name, id)
		}
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	// Instructions go in a binary column, like the JSON: what the client
	// sent comes back byte for byte, NUL included.
	_, err := s.db.ExecContext(ctx, `INSERT INTO responses (`+responseColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.KeyID, r.PreviousID, s.time(r.CreatedAt), s.text(r.Model),
		blob(r.Body), blob(r.InputItems), blob(r.Conversation), blob([]byte(r.Instructions)))
	if _, ok := s.d.UniqueViolation(err); ok {
		return fmt.Errorf("%w: a response with id %q already exists", store.ErrDuplicate, r.ID)
	}
	return s.wrap("put response", err)
}

func scanResponse(r rowScanner) (store.StoredResponse, error) {
	var (
		sr           store.StoredResponse
		created      timeCol
		instructions []byte
	)
	if err := r.Scan(&sr.ID, &sr.KeyID, &sr.PreviousID, &created, &sr.Model,
		&sr.Body, &sr.InputItems, &sr.Conversation, &instructions); err != nil {
		return store.StoredResponse{}, err
	}
	sr.CreatedAt = created.t
	sr.Instructions = string(instructions)
	return sr, nil
}

// Response implements store.Store.
func (s *DB) Response(ctx context.Context, id string) (store.StoredResponse, error) {
	if !s.storableID(id) {
		return store.StoredResponse{}, store.ErrNotFound
	}
	r, err := scanResponse(s.db.QueryRowContext(ctx, `SELECT `+responseColumns+` FROM responses WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.StoredResponse{}, store.ErrNotFound
	}
	return r, s.wrap("response", err)
}

// DeleteResponse implements store.Store.
func (s *DB) DeleteResponse(ctx context.Context, id string) error {
	if !s.storableID(id) {
		return store.ErrNotFound
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM responses WHERE id = $1`, id)
	return s.affected("delete response", res, err)
}

// DeleteResponsesBefore implements store.Store.
func (s *DB) DeleteResponsesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM responses WHERE created_at < $1`, s.time(t))
	if err != nil {
		return 0, s.wrap("delete responses", err)
	}
	n, err := res.RowsAffected()
	return n, s.wrap("delete responses", err)
}

// responseChain walks from a response to its ancestors in one statement.
// The recursive part reads only id and previous_id, by primary key, and
// neither database reads the large columns for it (see the migrations);
// they are read once, for the rows returned. depth stops the
// walk one step past $2 responses, so that a longer chain (or a cycle)
// shows as one row too many instead of running on.
const responseChain = `WITH RECURSIVE chain (id, previous_id, depth) AS (
		SELECT id, previous_id, 0 FROM responses WHERE id = $1
		UNION ALL
		SELECT r.id, r.previous_id, c.depth + 1 FROM chain c JOIN responses r ON r.id = c.previous_id
		WHERE c.previous_id <> '' AND c.depth < $2
	)
	SELECT r.id, r.key_id, r.previous_id, r.created_at, r.model, r.body, r.input_items, r.conversation, r.instructions
	FROM chain c JOIN responses r ON r.id = c.id
	ORDER BY c.depth DESC`

// ResponseChain implements store.Store.
func (s *DB) ResponseChain(ctx context.Context, id string, limit int) ([]store.StoredResponse, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%s: response chain: limit %d is not positive", s.d.Name, limit)
	}
	if !s.storableID(id) {
		return nil, fmt.Errorf("%w: response %q", store.ErrNotFound, id)
	}
	rows, err := s.db.QueryContext(ctx, responseChain, id, limit)
	if err != nil {
		return nil, s.wrap("response chain", err)
	}
	defer rows.Close()
	var out []store.StoredResponse
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			return nil, s.wrap("response chain", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("response chain", err)
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("%w: response %q", store.ErrNotFound, id)
	case len(out) > limit:
		return nil, fmt.Errorf("%w: response %q has more than %d in its chain", store.ErrChainTooLong, id, limit)
	case out[0].PreviousID != "":
		// The walk stopped before the first turn: an ancestor was deleted.
		return nil, fmt.Errorf("%w: response %q, an ancestor of %q", store.ErrNotFound, out[0].PreviousID, id)
	}
	return out, nil
}
