package post

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
)

// TestOneDeviceFloodingDoesNotStopOthers: while an ANPR camera floods its
// line port with garbage, reconnecting each time it is cut off, and a
// broken ENS client posts oversized and malformed declarations without
// pause, the plate scanner's and the MRZ reader's checks are all answered
// and recorded, and none of the garbage becomes a check.
func TestOneDeviceFloodingDoesNotStopOthers(t *testing.T) {
	cfg := seedReplica(t,
		store.Alert{ID: "veh-1", Version: 1, Action: "seize", Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "HH AB 123", PlateCountry: "DE"}}},
		store.Alert{ID: "doc-1", Version: 1, Action: "seize", Subject: store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "L898902C3"}}},
	)
	a, srv := serveAgent(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.cfg.Devices.ANPR.LineServer(a).Serve(ctx, ln)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var cut, refused atomic.Int64
	wg.Add(1)
	go func() { // the flooding camera
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				continue
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			conn.Write([]byte(strings.Repeat("\x00\xff garbage;;;\n", 200)))
			for sc := bufio.NewScanner(conn); sc.Scan(); {
			}
			cut.Add(1)
			conn.Close()
		}
	}()
	bodies := []string{strings.Repeat("x", 5<<20), `{"ens":`, "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY b \"c\">]><a>&b;</a>", "\xff\xfe not utf-8"}
	for i := range 3 { // the broken ENS client
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(srv.URL+"/v1/ens", "application/json", strings.NewReader(bodies[j%len(bodies)]))
				if err == nil {
					if resp.StatusCode >= 400 && resp.StatusCode < 500 {
						refused.Add(1)
					}
					resp.Body.Close()
				}
			}
		}()
	}

	const reads = 50
	mrz := `{"lines":["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<","L898902C36UTO7408122F1204159ZE184226B<<<<<10"],"device":"mrz-1"}`
	for i := range reads {
		code, res := post(t, srv.URL+"/v1/scans", "application/json", `{"kind":"plate","value":"hh-ab 123","country":"D","device":"anpr-1"}`)
		if code != 200 || len(res.Hits) != 1 || res.Hits[0].AlertID != "veh-1" {
			t.Fatalf("plate scan %d during the flood: %d %+v", i, code, res)
		}
		if code, res = post(t, srv.URL+"/v1/mrz", "application/json", mrz); code != 200 || len(res.Hits) != 1 {
			t.Fatalf("MRZ read %d during the flood: %d %+v", i, code, res)
		}
	}
	close(stop)
	wg.Wait()
	if cut.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("the flood did not run: %d camera connections cut, %d declarations refused", cut.Load(), refused.Load())
	}
	checks := 0
	a.rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		if r.Event == store.EventCheck {
			checks++
		}
		return nil
	})
	if checks != 2*reads {
		t.Errorf("%d checks recorded, want exactly the %d good ones", checks, 2*reads)
	}
	t.Logf("%d good checks answered while %d flooding camera connections were cut and %d bad declarations refused", 2*reads, cut.Load(), refused.Load())
}
