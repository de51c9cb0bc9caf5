package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// AlertsByID answers at the positions asked, leaving a zero Alert for an
// ID not held and for an expired alert not yet purged.
func TestAlertsByID(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	old := plate("OLD", "MOLD1", 1)
	old.Expires = time.Now().Add(time.Hour)
	c0, _ := r.Cursor()
	if err := r.Apply(ctx, change(c0, map[string]Alert{}, []Alert{plate("A1", "MAB1234", 1), plate("A2", "BXY99", 3), old}, nil)); err != nil {
		t.Fatal(err)
	}
	got, err := r.AlertsByID([]string{"A2", "NONE", "A1", "OLD"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].ID != "A2" || got[0].Version != 3 || got[1].ID != "" || got[2].ID != "A1" || got[3].ID != "OLD" {
		t.Fatalf("got %+v", got)
	}
	if n, err := r.AlertCount(); err != nil || n != 3 {
		t.Fatalf("AlertCount %d, %v; want 3", n, err)
	}
	r.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if got, err := r.AlertsByID([]string{"OLD"}); err != nil || got[0].ID != "" {
		t.Fatalf("expired alert returned: %+v, %v", got, err)
	}
}
