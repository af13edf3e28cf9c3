package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry of drivers. Drivers register themselves from init so that the
// gateway and the CLI pick a backend from the configured DSN alone, and a
// binary that does not import a driver does not link its dependencies.
var (
	driversMu sync.RWMutex
	drivers   = map[string]func(ctx context.Context, dsn string) (Store, error){}
)

// Register makes a driver available to Open under scheme ("sqlite",
// "postgres"). It panics if open is nil or scheme is already registered,
// like database/sql.Register: both are programming errors.
func Register(scheme string, open func(ctx context.Context, dsn string) (Store, error)) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if open == nil {
		panic("store: Register open func is nil")
	}
	if _, dup := drivers[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	drivers[scheme] = open
}

// acceptedForms is quoted in errors so that a bad storage setting says what
// would have worked.
const acceptedForms = `sqlite:PATH, sqlite://PATH, file:PATH, a path ending in .db, postgres://... or postgresql://...`

// Open opens the store a DSN names:
//
//	sqlite:PATH, sqlite://PATH, file:PATH, PATH.db  -> "sqlite" driver
//	postgres://..., postgresql://...               -> "postgres" driver
//
// Any other "scheme:" prefix is looked up as-is among registered drivers.
// The driver receives the whole DSN. The driver's package must be imported
// (for its init) somewhere in the binary.
func Open(ctx context.Context, dsn string) (Store, error) {
	scheme := Scheme(dsn)
	if scheme == "" {
		// Never echo the DSN: it may carry a password.
		return nil, fmt.Errorf("store: unrecognised storage DSN; accepted forms: %s", acceptedForms)
	}
	driversMu.RLock()
	open, ok := drivers[scheme]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store: no driver registered for scheme %q (registered: %s); accepted forms: %s",
			scheme, strings.Join(registered(), ", "), acceptedForms)
	}
	return open(ctx, dsn)
}

// Scheme returns the driver name a DSN selects, or "" when it names none.
func Scheme(dsn string) string {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		return "sqlite"
	}
	if i := strings.IndexByte(dsn, ':'); i > 1 && isSchemeName(dsn[:i]) {
		// "mysql://..." and the like: let a registered driver claim it.
		// i > 1 keeps Windows drive letters ("C:\x.db") out.
		return strings.ToLower(dsn[:i])
	}
	if p, _, _ := strings.Cut(lower, "?"); strings.HasSuffix(p, ".db") {
		return "sqlite"
	}
	return ""
}

// isSchemeName reports whether s is a URL scheme (RFC 3986 section 3.1).
func isSchemeName(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func registered() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}
