package targettest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/roster-dev/roster/targets"
)

// Memory is an in-memory writable target for testing what drives targets (the executor,
// the CLI). It behaves as the conformance suite demands (TestMemory runs the suite on it)
// and can be told to fail.
type Memory struct {
	mu       sync.Mutex
	accounts map[string]*targets.Account
	exists   map[string]bool // entitlements that exist
	// Transient makes the next n Apply calls for an account fail with a transient error.
	transient map[string]int
	// Broken makes every Apply for an account fail.
	broken map[string]error
	// Lossy makes Apply for an account succeed without doing anything (to test verification).
	lossy map[string]bool
	// Applied counts Apply calls that changed something, by change.
	Applied map[string]int
}

var _ targets.Writer = (*Memory)(nil)

// NewMemory returns a target where the given entitlements exist.
func NewMemory(entitlements ...string) *Memory {
	m := &Memory{accounts: map[string]*targets.Account{}, exists: map[string]bool{}, transient: map[string]int{},
		broken: map[string]error{}, lossy: map[string]bool{}, Applied: map[string]int{}}
	for _, e := range entitlements {
		m.exists[e] = true
	}
	return m
}

// Put sets an account as it is live.
func (m *Memory) Put(a targets.Account) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a.Entitlements = append([]string{}, a.Entitlements...)
	sort.Strings(a.Entitlements)
	for _, e := range a.Entitlements {
		m.exists[e] = true
	}
	m.accounts[a.ID] = &a
}

// FailTransiently makes the next n changes to account fail with a transient error.
func (m *Memory) FailTransiently(account string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.transient[account] = n
}

// Break makes every change to account fail with err.
func (m *Memory) Break(account string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.broken[account] = err
}

// Lose makes changes to account report success without effect.
func (m *Memory) Lose(account string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lossy[account] = true
}

// Read returns every account, sorted.
func (m *Memory) Read(ctx context.Context) (*targets.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &targets.Snapshot{}
	for _, a := range m.accounts {
		c := *a
		c.Entitlements = append([]string{}, a.Entitlements...)
		s.Accounts = append(s.Accounts, c)
	}
	sort.Slice(s.Accounts, func(i, j int) bool { return s.Accounts[i].ID < s.Accounts[j].ID })
	return s, nil
}

// ReadAccount returns one account or nil.
func (m *Memory) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[account]
	if !ok {
		return nil, nil
	}
	c := *a
	c.Entitlements = append([]string{}, a.Entitlements...)
	return &c, nil
}

// Apply makes one change, idempotently.
func (m *Memory) Apply(ctx context.Context, c targets.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.transient[c.Account]; n > 0 {
		m.transient[c.Account] = n - 1
		return targets.Transient(errors.New("connection reset by peer"))
	}
	if err := m.broken[c.Account]; err != nil {
		return err
	}
	if m.lossy[c.Account] {
		return nil
	}
	a := m.accounts[c.Account]
	changed := true
	switch c.Op {
	case targets.OpCreate:
		if a != nil {
			return nil
		}
		m.accounts[c.Account] = &targets.Account{ID: c.Account, Enabled: true, Entitlements: []string{}}
	case targets.OpEnable, targets.OpDisable:
		if a == nil {
			return fmt.Errorf("account %s does not exist", c.Account)
		}
		changed = a.Enabled != (c.Op == targets.OpEnable)
		a.Enabled = c.Op == targets.OpEnable
	case targets.OpGrant:
		if a == nil {
			return fmt.Errorf("account %s does not exist", c.Account)
		}
		if !m.exists[c.Entitlement] {
			return fmt.Errorf("%s does not exist", c.Entitlement)
		}
		if slices.Contains(a.Entitlements, c.Entitlement) {
			return nil
		}
		a.Entitlements = append(a.Entitlements, c.Entitlement)
		sort.Strings(a.Entitlements)
	case targets.OpRevoke:
		if a == nil {
			return nil
		}
		i := slices.Index(a.Entitlements, c.Entitlement)
		if i < 0 {
			return nil
		}
		a.Entitlements = slices.Delete(a.Entitlements, i, i+1)
	case targets.OpDelete:
		if a == nil {
			return nil
		}
		delete(m.accounts, c.Account)
	default:
		return fmt.Errorf("unknown op %v", c.Op)
	}
	if changed {
		m.Applied[c.String()]++
	}
	return nil
}
