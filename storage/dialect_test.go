package storage

import "testing"

func TestRebindNumbered(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"none", "SELECT 1", "SELECT 1"},
		{"several", "UPDATE t SET a = ? WHERE b = ? AND c IN (?, ?)", "UPDATE t SET a = $1 WHERE b = $2 AND c IN ($3, $4)"},
		{"in a string literal", "SELECT '?' || ? FROM t WHERE x = 'it''s ?' AND y = ?", "SELECT '?' || $1 FROM t WHERE x = 'it''s ?' AND y = $2"},
		{"ten and more", "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rebindNumbered(c.in); got != c.want {
				t.Errorf("rebindNumbered(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
