package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Benchmarks at scale. BORDERPOST_BENCH_ALERTS sets the replica size
// (default 20,000 so `go test -bench .` stays quick); BORDERPOST_BENCH_DIR
// (default $TMPDIR/borderpost-store-bench) keeps the generated file and
// replica between runs, so each benchmark can run in its own process and
// report its own peak memory; delete it to regenerate them:
//
//	export BORDERPOST_BENCH_ALERTS=1000000 BORDERPOST_BENCH_DIR=/tmp/bpbench
//	go test ./store -run '^$' -bench BenchmarkImport -benchtime 1x
//	go test ./store -run '^$' -bench BenchmarkColdStart -benchtime 1x
//	go test ./store -run '^$' -bench BenchmarkDelta10k -benchtime 3x

func benchAlerts() int {
	if n, err := strconv.Atoi(os.Getenv("BORDERPOST_BENCH_ALERTS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

var benchDirOnce struct {
	sync.Once
	dir string
}

func benchDir(b *testing.B) string {
	benchDirOnce.Do(func() {
		if d := os.Getenv("BORDERPOST_BENCH_DIR"); d != "" {
			os.MkdirAll(d, 0o700)
			benchDirOnce.dir = d
			return
		}
		// A fixed place, reused by later runs rather than piling up.
		d := filepath.Join(os.TempDir(), "borderpost-store-bench")
		os.MkdirAll(d, 0o700)
		benchDirOnce.dir = d
	})
	return benchDirOnce.dir
}

var (
	surnames  = []string{"Kowalski", "Nowak", "Müller", "Schmidt", "García", "Rossi", "Dubois", "Jansen", "Popescu", "Horváth", "Novák", "Petrov", "Ivanova", "Haddad", "Al-Sayed", "O'Brien", "Nguyen", "Öztürk", "Papadopoulos", "Lindqvist"}
	forenames = []string{"Anna", "Jan", "Maria", "Piotr", "José", "Luca", "Sophie", "Mohammed", "Elena", "Ahmet", "Ioana", "Lars", "Fatima", "Tomás", "Olga"}
	countries = []string{"PL", "DE", "FR", "IT", "ES", "NL", "RO", "HU", "CZ", "BG", "TR", "UA", "MA", "RS", "AL"}
	makes     = []string{"Volkswagen", "Toyota", "Mercedes-Benz", "BMW", "Škoda", "Renault", "Ford", "Scania", "Volvo", "DAF"}
	owners    = []string{"MSCU", "MAEU", "CMAU", "HLXU", "TGHU", "CSQU", "OOLU", "EGHU"}
	actions   = []string{"arrest", "discreet check", "inquiry check", "specific check", "seize", "refuse entry", "inform"}
	warnings  = []string{"armed", "violent", "escape-risk", "suicide-risk", "public-health", "terrorism"}
)

// realisticAlert makes alert i of a mix close to a watch list's: persons
// (with aliases) dominate, then vehicles and plates, documents, containers,
// companies, and a tail of phones, e-mails, firearms, vessels, aircraft.
func realisticAlert(rng *rand.Rand, i int) Alert {
	issued := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(700*24)) * time.Hour)
	a := Alert{
		ID: fmt.Sprintf("SIS-%08d", i), Version: uint64(1 + rng.IntN(3)), Source: "SIS",
		Action: actions[rng.IntN(len(actions))], Issued: issued,
		LegalBasis: "Regulation (EU) 2018/1862", Authority: countries[rng.IntN(len(countries))] + "-SIRENE",
		Purposes: []string{"police", "border"},
	}
	if rng.IntN(10) < 8 {
		a.Expires = issued.Add(time.Duration(3+rng.IntN(3)) * 365 * 24 * time.Hour)
	}
	if rng.IntN(10) == 0 {
		a.Warnings = []string{warnings[rng.IntN(len(warnings))]}
	}
	sur := func() string { return surnames[rng.IntN(len(surnames))] + strconv.Itoa(rng.IntN(5000)) }
	switch k := rng.IntN(100); {
	case k < 40:
		a.Category = "art26-arrest"
		p := &Person{Surname: sur(), Forenames: forenames[rng.IntN(len(forenames))] + " " + forenames[rng.IntN(len(forenames))],
			BirthDate: fmt.Sprintf("%d-%02d-%02d", 1950+rng.IntN(55), 1+rng.IntN(12), 1+rng.IntN(28)),
			Sex:       "MF"[rng.IntN(2):][:1], Nationalities: []string{countries[rng.IntN(len(countries))]}}
		for range rng.IntN(4) {
			p.Aliases = append(p.Aliases, sur())
		}
		a.Subject = Subject{Kind: SubjectPerson, Person: p}
	case k < 62:
		a.Category = "art38-seizure"
		a.Subject = Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: fmt.Sprintf("%c%c%c%05d", 'A'+rng.IntN(26), 'A'+rng.IntN(26), 'A'+rng.IntN(26), rng.IntN(100000)),
			PlateCountry: countries[rng.IntN(len(countries))], VIN: fmt.Sprintf("WVW%014d", rng.Int64N(1e14)), Make: makes[rng.IntN(len(makes))]}}
	case k < 78:
		a.Category = "art38-document"
		a.Subject = Subject{Kind: SubjectDocument, Document: &Document{Number: fmt.Sprintf("%c%08d", 'A'+rng.IntN(26), rng.IntN(1e8)),
			Type: "passport", Country: countries[rng.IntN(len(countries))]}}
	case k < 88:
		a.Category = "art38-seizure"
		a.Subject = Subject{Kind: SubjectContainer, Container: &Container{Number: fmt.Sprintf("%sU%07d", owners[rng.IntN(len(owners))][:3], rng.IntN(1e7))}}
	case k < 95:
		a.Source, a.Category = "NATIONAL", "customs-risk"
		a.Subject = Subject{Kind: SubjectCompany, Company: &Company{Name: sur() + " Trading Sp. z o.o.", Aliases: []string{sur() + " Logistics"},
			EORI: fmt.Sprintf("%s%012d", countries[rng.IntN(len(countries))], rng.Int64N(1e12)), Country: countries[rng.IntN(len(countries))],
			Address: fmt.Sprintf("ul. Portowa %d, Gdańsk", 1+rng.IntN(200))}}
	case k < 97:
		a.Source, a.Category = "EUROPOL", "entity"
		a.Subject = Subject{Kind: SubjectPhone, Phone: fmt.Sprintf("+48%09d", rng.IntN(1e9))}
	case k < 98:
		a.Source, a.Category = "EUROPOL", "entity"
		a.Subject = Subject{Kind: SubjectEmail, Email: fmt.Sprintf("%s@example.org", strings.ToLower(forenames[rng.IntN(len(forenames))])+strconv.Itoa(i))}
	case k < 99:
		a.Category = "art38-seizure"
		a.Subject = Subject{Kind: SubjectFirearm, Firearm: &Firearm{Serial: fmt.Sprintf("SN%09d", rng.IntN(1e9)), Make: "Glock"}}
	default:
		a.Category = "art36-check"
		a.Subject = Subject{Kind: SubjectVessel, Vessel: &Vessel{IMO: fmt.Sprintf("9%06d", rng.IntN(1e6)), Name: "MV " + sur()}}
	}
	return a
}

var benchHash = [32]byte{0xbe, 0x1c}

// benchFile writes (once) the JSON Lines import of n alerts and returns
// its path and the digest of the set.
func benchFile(b *testing.B, n int) (string, Digest) {
	path := filepath.Join(benchDir(b), fmt.Sprintf("alerts-%d.jsonl", n))
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	var d Digest
	gen := func(fn func(Alert) error) error {
		for i := range n {
			a := realisticAlert(rng, i)
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	}
	// The digest is needed in the header, so compute it first.
	gen(func(a Alert) error { d.Add(a.ID, a.Version); return nil })
	if _, err := os.Stat(path); err == nil {
		return path, d
	}
	rng = rand.New(rand.NewPCG(uint64(n), 42))
	f, err := os.Create(path + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `{"snapshot":{"epoch":1,"seq":1,"hash":"%x","digest":%q,"count":%d}}`+"\n", benchHash, d.String(), n)
	enc := json.NewEncoder(w)
	if err := gen(func(a Alert) error { return enc.Encode(a) }); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path, d
}

// cpuSeconds returns the user and system CPU time the process has used:
// on a shared machine it says more than wall time does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSS returns the process's peak resident memory in MiB (VmHWM).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func fileMiB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// benchReplica returns the path of a replica holding the n imported
// alerts, importing them if it does not exist yet.
func benchReplica(b *testing.B, n int) string {
	db := filepath.Join(benchDir(b), fmt.Sprintf("replica-%d.db", n))
	if _, err := os.Stat(db); err == nil {
		return db
	}
	src, _ := benchFile(b, n)
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := Open(context.Background(), db+".tmp", testKey(9), Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Import(context.Background(), f, r, nil); err != nil {
		b.Fatal(err)
	}
	r.Close()
	if _, _, err := Compact(context.Background(), db+".tmp", Options{}); err != nil {
		b.Fatal(err)
	}
	os.Rename(db+".tmp", db)
	return db
}

// BenchmarkImport loads the whole generated set into a new replica:
// parse, validate, encrypt, index, commit.
func BenchmarkImport(b *testing.B) {
	n := benchAlerts()
	src, d := benchFile(b, n)
	ctx := context.Background()
	var size, compacted, cpu, rss float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := filepath.Join(b.TempDir(), "import.db")
		r, err := Open(ctx, db, testKey(9), Options{Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		f, _ := os.Open(src)
		c0 := cpuSeconds()
		b.StartTimer()
		res, err := Import(ctx, f, r, nil)
		b.StopTimer()
		cpu += cpuSeconds() - c0
		f.Close()
		if err != nil || res.Cursor.Digest != d || res.Alerts != n {
			b.Fatalf("import: %+v %v", res, err)
		}
		r.Close()
		size = fileMiB(db)
		if i == 0 {
			rss = peakRSS() // before compaction maps the whole file
			Compact(ctx, db, Options{})
			compacted = fileMiB(db)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
	b.ReportMetric(size, "file-MiB")
	b.ReportMetric(compacted, "compacted-MiB")
	b.ReportMetric(rss, "peak-RSS-MiB")
}

// BenchmarkColdStart opens the replica (key, checks, recovery), decrypts
// every alert and builds an in-memory index of its identifiers, as the
// agent does before it is ready.
func BenchmarkColdStart(b *testing.B) {
	n := benchAlerts()
	db := benchReplica(b, n)
	ctx := context.Background()
	c0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Open(ctx, db, testKey(9), Options{Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		index := make(map[string]string, n)
		err = r.Alerts(ctx, func(a Alert) error {
			for _, id := range benchIdentifiers(a) {
				index[id] = a.ID
			}
			return nil
		})
		r.Close()
		if err != nil || len(index) < n/2 {
			b.Fatalf("cold start: %d identifiers, %v", len(index), err)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(fileMiB(db), "file-MiB")
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
}

func benchIdentifiers(a Alert) []string {
	s := a.Subject
	switch s.Kind {
	case SubjectPerson:
		return append([]string{s.Person.Surname + "|" + s.Person.BirthDate}, s.Person.Aliases...)
	case SubjectVehicle:
		return []string{s.Vehicle.Plate, s.Vehicle.VIN}
	case SubjectDocument:
		return []string{s.Document.Number}
	case SubjectContainer:
		return []string{s.Container.Number}
	case SubjectCompany:
		return []string{s.Company.Name, s.Company.EORI}
	case SubjectPhone:
		return []string{s.Phone}
	case SubjectEmail:
		return []string{s.Email}
	case SubjectFirearm:
		return []string{s.Firearm.Serial}
	case SubjectVessel:
		return []string{s.Vessel.IMO}
	}
	return nil
}

// BenchmarkDelta10k applies deltas of 10,000 operations to the large
// replica: 2,500 new alerts, 2,500 re-issued ones, 5,000 deletes.
func BenchmarkDelta10k(b *testing.B) {
	n := benchAlerts()
	if n < 10000*(b.N+1) {
		b.Skipf("needs at least %d alerts", 10000*(b.N+1))
	}
	src := benchReplica(b, n)
	db := filepath.Join(b.TempDir(), "delta.db")
	copyFile(b, src, db)
	ctx := context.Background()
	r, err := Open(ctx, db, testKey(9), Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var cpu float64
	b.ResetTimer()
	for j := 0; j < b.N; j++ {
		b.StopTimer()
		cur, _ := r.Cursor()
		ch := Change{Epoch: cur.Epoch, Seq: cur.Seq + 1, PrevHash: cur.Hash, Hash: [32]byte{byte(j), 1}, Digest: cur.Digest}
		base := j * 10000
		for k := range 5000 { // delete
			id := fmt.Sprintf("SIS-%08d", base+k)
			a, ok, err := r.Alert(id)
			if err != nil || !ok {
				b.Fatalf("alert %s: %v %v", id, ok, err)
			}
			ch.Digest.Remove(a.ID, a.Version)
			ch.Deletes = append(ch.Deletes, id)
		}
		rng := rand.New(rand.NewPCG(uint64(j), 7))
		for k := range 2500 { // re-issue
			a, _, _ := r.Alert(fmt.Sprintf("SIS-%08d", base+5000+k))
			ch.Digest.Remove(a.ID, a.Version)
			a.Version++
			ch.Digest.Add(a.ID, a.Version)
			ch.Upserts = append(ch.Upserts, a)
			na := realisticAlert(rng, 0)
			na.ID = fmt.Sprintf("NEW-%d-%d", j, k)
			ch.Digest.Add(na.ID, na.Version)
			ch.Upserts = append(ch.Upserts, na)
		}
		c0 := cpuSeconds()
		b.StartTimer()
		if err := r.Apply(ctx, ch); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuSeconds() - c0
	}
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
	b.ReportMetric(fileMiB(db), "file-MiB")
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
}

func copyFile(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRotate re-encrypts the large replica under a new key, online,
// in chunks of 5,000.
func BenchmarkRotate(b *testing.B) {
	n := benchAlerts()
	src := benchReplica(b, n)
	ctx := context.Background()
	var cpu float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := filepath.Join(b.TempDir(), "rotate.db")
		copyFile(b, src, db)
		r, err := Open(ctx, db, testKey(9), Options{Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		c0 := cpuSeconds()
		b.StartTimer()
		if err := r.Rotate(ctx, testKey(10), 5000, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuSeconds() - c0
		r.Close()
	}
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
}

// BenchmarkRecordConcurrent: 32 devices checking at once, one check in 20
// with a hit, each answered only once its record is on disk. It reports
// checks per second, the wait for the record (p50, p99) and the replica
// file's growth per check (audit log and outbox, never acknowledged).
func BenchmarkRecordConcurrent(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "r.db")
	r, err := Open(ctx, path, testKey(1), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	// The file is mapped larger than it holds: its used size is bolt's.
	used := func() int64 {
		var n int64
		r.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
		return n
	}
	size0 := used()
	var mu sync.Mutex
	var waits []time.Duration
	var n atomic.Int64
	b.SetParallelism(16) // 16 x GOMAXPROCS (2 here): 32 devices
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := n.Add(1)
			var hits []Hit
			if i%20 == 0 {
				hits = []Hit{{ID: fmt.Sprintf("hit-%024x", i), CheckID: fmt.Sprintf("chk-%024x", i), AlertID: "A00001234",
					Field: "plate", ItemKind: "plate", Value: "KA123BC", Match: "exact", Score: 1, Time: time.Now()}}
			}
			began := time.Now()
			if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%024x", i), Device: "lane-3-ocr", Items: 1}, hits); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(began))
		}
		mu.Lock()
		waits = append(waits, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(waits)
	if len(waits) > 0 {
		b.ReportMetric(float64(len(waits))/elapsed.Seconds(), "checks/s")
		b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(float64(used()-size0)/float64(len(waits)), "file-B/check")
	if st := r.CommitStats(); st.Groups > 0 {
		b.ReportMetric(float64(st.Checks)/float64(st.Groups), "checks/commit")
	}
}
