package post

import (
	"context"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
)

// An expired alert leaves the match index while the agent runs, as it
// leaves the replica's disk: its name is not kept in memory until the
// next restart.
func TestExpiredAlertsLeaveTheMatchIndex(t *testing.T) {
	ctx := context.Background()
	cfg := seedReplica(t,
		store.Alert{ID: "P1", Version: 1, Expires: time.Now().Add(1500 * time.Millisecond),
			Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Sven"}}},
		store.Alert{ID: "CAR", Version: 1,
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}})
	cfg.MQTT.Broker = "tcp://127.0.0.1:1" // no central: the post works offline
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Store.PurgeEvery = 100 * time.Millisecond
	a, err := New(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.index.Len(); n != 2 {
		t.Fatalf("index holds %d alerts at start, want 2", n)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for a.index.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the expired alert is still in the match index (%d alerts)", a.index.Len())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
