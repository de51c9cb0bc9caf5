package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
)

func TestScreen(t *testing.T) {
	dir := t.TempDir()
	alerts := []store.Alert{
		{ID: "P1", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Haddad", Forenames: "Omar Khalil", BirthDate: "1971-05-02", Nationalities: []string{"LB"}}}},
		{ID: "C1", Version: 1, Subject: store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: "Meridian Freight Holdings GmbH", Aliases: []string{"Meridian Cargo"}}}},
		{ID: "X1", Version: 1, Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}}},
	}
	var lines []string
	for _, a := range alerts {
		b, _ := json.Marshal(a)
		lines = append(lines, string(b))
	}
	alertsFile := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(alertsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	csv := "ref,kind,name,birth_date,nationality\n" +
		"q1,person,\"HADDAD, Omar\",1971,LB\n" +
		"q2,company,Meridian Freight Holdings LLC,,\n" +
		"q3,person,Maria Lindqvist,,\n" +
		"q4,plate,Something,,\n" +
		"q5,person,Omar Hadad,1971-13,\n"
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte(csv), 0o600)
	output := filepath.Join(dir, "out.jsonl")
	out, err := runRoot(t, "", "screen", "--alerts", alertsFile, "--input", input, "--output", output)
	if err == nil || !strings.Contains(err.Error(), "1 of 5 rows could not be screened") || !strings.Contains(out, "1 not screened") {
		t.Fatalf("screen with an unscreenable row: %v\n%s", err, out)
	}
	if out, err := runRoot(t, "", "screen", "--alerts", alertsFile, "--input", input, "--output", output, "--allow-errors"); err != nil {
		t.Fatalf("screen --allow-errors: %v\n%s", err, out)
	}
	got := readScreenOutput(t, output)
	if len(got) != 5 {
		t.Fatalf("%d result lines, want 5", len(got))
	}
	for i, want := range []string{"q1", "q2", "q3", "q4", "q5"} {
		if got[i].Ref != want || got[i].Line != i+2 {
			t.Errorf("result %d is %s line %d: results out of input order", i, got[i].Ref, got[i].Line)
		}
	}
	if len(got[0].Hits) == 0 || got[0].Hits[0].AlertID != "P1" || got[0].Hits[0].Explanation == "" {
		t.Errorf("q1: %+v", got[0])
	}
	if len(got[1].Hits) == 0 || got[1].Hits[0].AlertID != "C1" {
		t.Errorf("q2: %+v", got[1])
	}
	if len(got[2].Hits) != 0 {
		t.Errorf("q3 hit %+v", got[2].Hits)
	}
	if got[3].Error == "" {
		t.Errorf("a row of unknown kind not reported: %+v", got[3])
	}
	// An impossible month: the name is screened without the date.
	if got[4].Error != "" || len(got[4].Hits) == 0 || got[4].Hits[0].AlertID != "P1" || len(got[4].Warnings) != 1 || !strings.Contains(got[4].Warnings[0], "no month 13") {
		t.Errorf("q5 (month 13) not screened by name with a warning: %+v", got[4])
	}
}

func readScreenOutput(t *testing.T, path string) []screenResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []screenResult
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r screenResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	return got
}

// screenAlertsFile writes one person alert and returns the file.
func screenAlertsFile(t *testing.T, dir string) string {
	t.Helper()
	b, _ := json.Marshal(store.Alert{ID: "P1", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Haddad", Forenames: "Omar Khalil", BirthDate: "1965-02-20", Nationalities: []string{"AF"}}}})
	p := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(p, append(b, '\n'), 0o600)
	return p
}

// TestScreenNeverDropsRow: impossible dates, country names, unknown
// nationalities, a byte order mark and a malformed CSV row are all
// written to the output; none is dropped.
func TestScreenNeverDropsRow(t *testing.T) {
	dir := t.TempDir()
	alerts := screenAlertsFile(t, dir)
	csv := "\ufeffref,kind,name,birth_date,nationality\n" +
		"a,person,Omar Haddad,1965-02-30,AF\n" + // February has no day 30
		"b,person,Omar Haddad,1965-02-20,Afghanistan\n" + // a country name
		"c,person,Omar Haddad,,Atlantis\n" + // not a country
		"d,person,Omar \"Haddad,,\n" + // bare quote: malformed
		"e,person,Omar Haddad,20-02-1965,\n"
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte(csv), 0o600)
	output := filepath.Join(dir, "out.jsonl")
	out, err := runRoot(t, "", "screen", "--alerts", alerts, "--input", input, "--output", output)
	if err == nil || !strings.Contains(out, "screened 4 of 5 rows") || !strings.Contains(out, "3 screened without a field") {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	got := readScreenOutput(t, output)
	if len(got) != 5 {
		t.Fatalf("%d result lines, want 5 (a row was dropped)", len(got))
	}
	byRef := map[string]screenResult{}
	for _, r := range got {
		byRef[r.Ref] = r
	}
	if r := byRef["a"]; r.Error != "" || len(r.Hits) == 0 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "February 1965 has no day 30") {
		t.Errorf("impossible date: %+v", r)
	}
	if r := byRef["b"]; r.Error != "" || len(r.Warnings) != 0 || len(r.Hits) == 0 || !strings.Contains(r.Hits[0].Explanation, "nationality") {
		t.Errorf("country name not used as nationality: %+v", r)
	}
	if r := byRef["c"]; r.Error != "" || len(r.Hits) == 0 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "nationality") {
		t.Errorf("unknown nationality: %+v", r)
	}
	if r := got[3]; r.Line != 5 || r.Error == "" || !strings.Contains(r.Error, "malformed CSV") {
		t.Errorf("malformed row: %+v", r)
	}
	if r := byRef["e"]; len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "YYYY-MM-DD") {
		t.Errorf("badly written date: %+v", r)
	}
}

// TestScreenRefusesBadAlertsAndFlags: --alerts reads as replica import
// does, and the flags are range-checked.
func TestScreenRefusesBadAlertsAndFlags(t *testing.T) {
	dir := t.TempDir()
	good := screenAlertsFile(t, dir)
	line, _ := os.ReadFile(good)
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte("ref,kind,name\nq,person,Omar Haddad\n"), 0o600)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	header := write("header.jsonl", `{"snapshot":{"epoch":3,"seq":7,"count":1}}`+"\n"+string(line))
	if out, err := runRoot(t, "", "screen", "--alerts", header, "--input", input, "--output", filepath.Join(dir, "o")); err != nil {
		t.Errorf("an alerts file with a snapshot header: %v\n%s", err, out)
	}
	for _, c := range []struct{ file, want string }{
		{write("empty.jsonl", ""), "no alerts"},
		{write("headeronly.jsonl", `{"snapshot":{"epoch":1,"seq":1,"count":0}}`+"\n"), "no alerts"},
		{write("unknown.jsonl", strings.Replace(string(line), `{"id"`, `{"hue":"red","id"`, 1)), `line 1: invalid alert import line: json: unknown field "hue"`},
		{write("dup.jsonl", string(line)+"\n"+string(line)), "line 3: alert ID already given on line 1"},
	} {
		out, err := runRoot(t, "", "screen", "--alerts", c.file, "--input", input, "--output", filepath.Join(dir, "o"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q\n%s", filepath.Base(c.file), err, c.want, out)
		}
	}
	for _, args := range [][]string{{"--top", "0"}, {"--top", "101"}, {"--threshold", "0"}, {"--threshold", "1.5"}, {"--threshold", "NaN"}} {
		out, err := runRoot(t, "", append([]string{"screen", "--alerts", good, "--input", input, "--output", filepath.Join(dir, "o")}, args...)...)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v accepted: %v\n%s", args, err, out)
		}
	}
}

// An alerts file is read on every core, in file order: a bad line far
// into it is reported by its number, and the names before and after it
// are all indexed when the file is good.
func TestReadAlertsFileKeepsOrderAndLineNumbers(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		a := store.Alert{ID: fmt.Sprintf("P%05d", i), Version: 1,
			Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: fmt.Sprintf("Name%d", i)}}}
		j, _ := json.Marshal(a)
		b.Write(j)
		b.WriteByte('\n')
	}
	good := b.String()
	var ids []string
	keepID := func(a store.Alert) (string, bool) { return a.ID, true }
	if err := readAlertsFile(strings.NewReader(good), "a.jsonl", keepID, func(got []string) { ids = append(ids, got...) }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 10000 {
		t.Fatalf("%d alerts read, want 10000", len(ids))
	}
	for i, id := range ids {
		if id != fmt.Sprintf("P%05d", i) {
			t.Fatalf("alert %d is %s: out of file order", i, id)
		}
	}
	lines := strings.Split(good, "\n")
	lines[8999] = `{"id":"BAD","version":1,"subject":{"kind":"person"}}`
	err := readAlertsFile(strings.NewReader(strings.Join(lines, "\n")), "a.jsonl", keepID, func([]string) {})
	if err == nil || !strings.Contains(err.Error(), "a.jsonl: line 9000:") {
		t.Fatalf("bad line 9000: %v", err)
	}
	lines = strings.Split(good, "\n")
	lines[9500] = lines[10] // chunks apart
	err = readAlertsFile(strings.NewReader(strings.Join(lines, "\n")), "a.jsonl", keepID, func([]string) {})
	if err == nil || !strings.Contains(err.Error(), "a.jsonl: invalid alert import line: line 9501: alert ID already given on line 11") {
		t.Fatalf("ID of line 11 again on line 9501: %v", err)
	}
}

// While screen loads an alerts file the soft memory limit follows the
// file's size, rises when the live heap needs more (never below it, so
// that the collector cannot run without pause), and the collector runs at
// GOGC=200 below it; both are restored afterwards, the limit is not set
// when GOMEMLIMIT is, nor the pace when GOGC is.
func TestLoadMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	before := debug.SetMemoryLimit(-1)
	gcBefore := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gcBefore)
	l := startLoadMemoryLimit(100 << 20)
	if got, want := debug.SetMemoryLimit(-1), int64(100<<20+25<<20+128<<20); got != want {
		t.Fatalf("limit while loading %d, want %d", got, want)
	}
	if got := debug.SetGCPercent(loadGCPercent); got != loadGCPercent {
		t.Fatalf("GC percent while loading %d, want %d", got, loadGCPercent)
	}
	l.floor, l.set = 1, 1 // a file smaller than its names: the live heap decides
	runtime.GC()
	l.update()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if got := debug.SetMemoryLimit(-1); got < int64(live[0].Value.Uint64())+32<<20 {
		t.Fatalf("limit %d below the live heap %d and its margin", got, live[0].Value.Uint64())
	}
	l.stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("limit after loading %d, want %d as before", got, before)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent after loading %d, want 100 as before", got)
	}
	t.Setenv("GOGC", "100")
	l = startLoadMemoryLimit(100 << 20)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d set although GOGC is", got)
	}
	l.stop()
	t.Setenv("GOMEMLIMIT", "3GiB")
	startLoadMemoryLimit(100 << 20).update()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("limit %d set although GOMEMLIMIT is", got)
	}
}

// TestScreenReplicaAgreesWithFile: screening against the agent's replica
// (loaded as the agent loads it, the alerts behind hits read from disk)
// gives the rows the same hits as screening against the alerts file the
// replica was imported from, and counts the same persons and companies.
func TestScreenReplicaAgreesWithFile(t *testing.T) {
	dir := t.TempDir()
	alerts := []store.Alert{
		{ID: "P1", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Haddad", Forenames: "Omar Khalil", BirthDate: "1971-05-02", Nationalities: []string{"LB"}}}},
		{ID: "P2", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Maria", Aliases: []string{"Maria Lindkvist"}}}},
		{ID: "C1", Version: 1, Subject: store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: "Meridian Freight Holdings GmbH", Aliases: []string{"Meridian Cargo"}}}},
		{ID: "X1", Version: 1, Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}}},
		{ID: "V1", Version: 1, Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}},
	}
	var lines []string
	for _, a := range alerts {
		b, _ := json.Marshal(a)
		lines = append(lines, string(b))
	}
	alertsFile := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(alertsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	db, key := filepath.Join(dir, "replica.db"), filepath.Join(dir, "data.key")
	store.WriteKeyFile(key)
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("agent: {id: post-screen}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\n", db, key)), 0o600)
	if out, err := runRoot(t, "", "replica", "import", "--config", cfg, "--file", alertsFile); err != nil {
		t.Fatalf("replica import: %v\n%s", err, out)
	}
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte("ref,kind,name,birth_date,nationality\n"+
		"q1,person,\"HADDAD, Omar\",1971,LB\n"+
		"q2,company,Meridian Freight Holdings LLC,,\n"+
		"q3,person,Marya Lindkvist,,\n"+
		"q4,person,Nobody Anywhere,,\n"), 0o600)
	fromFile, fromReplica := filepath.Join(dir, "file.jsonl"), filepath.Join(dir, "replica.jsonl")
	outFile, err := runRoot(t, "", "screen", "--alerts", alertsFile, "--input", input, "--output", fromFile)
	if err != nil {
		t.Fatalf("screen --alerts: %v\n%s", err, outFile)
	}
	outReplica, err := runRoot(t, "", "screen", "--config", cfg, "--input", input, "--output", fromReplica)
	if err != nil {
		t.Fatalf("screen --config: %v\n%s", err, outReplica)
	}
	if !strings.Contains(outReplica, "against 3 alerts on persons and companies") || !strings.Contains(outFile, "against 3 alerts on persons and companies") {
		t.Errorf("summaries do not count the 3 persons and companies:\n%s\n%s", outFile, outReplica)
	}
	a, b := readScreenOutput(t, fromFile), readScreenOutput(t, fromReplica)
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("%d and %d result lines, want 4", len(a), len(b))
	}
	hits := 0
	for i := range a {
		if len(a[i].Hits) != len(b[i].Hits) {
			t.Errorf("%s: %d hits from the file, %d from the replica", a[i].Ref, len(a[i].Hits), len(b[i].Hits))
			continue
		}
		for j := range a[i].Hits {
			hits++
			if a[i].Hits[j].AlertID != b[i].Hits[j].AlertID || a[i].Hits[j].Score != b[i].Hits[j].Score {
				t.Errorf("%s hit %d: %+v from the file, %+v from the replica", a[i].Ref, j, a[i].Hits[j], b[i].Hits[j])
			}
		}
	}
	if hits < 3 {
		t.Errorf("only %d hits in all: the rows meant to hit did not", hits)
	}
}

// TestScreenVesselNames: a vessel on the list is screened by its names
// (kind vessel), from an alerts file as from the replica.
func TestScreenVesselNames(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(store.Alert{ID: "S1", Version: 1, Subject: store.Subject{Kind: store.SubjectVessel, Vessel: &store.Vessel{Name: "Sea Morning Star", IMO: "9074729", Aliases: []string{"Morning Glory"}}}})
	alertsFile := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(alertsFile, append(b, '\n'), 0o600)
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte("ref,kind,name,birth_date,nationality\nq1,vessel,SEA MORNING STAR,,\nq2,vessel,Morning Glorie,,\n"), 0o600)
	output := filepath.Join(dir, "out.jsonl")
	if out, err := runRoot(t, "", "screen", "--alerts", alertsFile, "--input", input, "--output", output); err != nil {
		t.Fatalf("screen: %v\n%s", err, out)
	}
	for _, r := range readScreenOutput(t, output) {
		if len(r.Hits) == 0 || r.Hits[0].AlertID != "S1" {
			t.Errorf("%s: %+v, want the vessel S1 first", r.Ref, r)
		}
	}
}

// A name thirty alerts hold, screened with --top 2: four hits read (the
// two and those tying with them, up to twice as many), the other
// twenty-six on the last hit by reference.
func TestScreenNamesNamesakes(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 30 {
		b, _ := json.Marshal(store.Alert{ID: fmt.Sprintf("P%02d", i), Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Novotny", Forenames: "Jiri"}}})
		lines = append(lines, string(b))
	}
	alertsFile := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(alertsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte("ref,kind,name\nq1,person,Jiri Novotny\n"), 0o600)
	output := filepath.Join(dir, "out.jsonl")
	if out, err := runRoot(t, "", "screen", "--alerts", alertsFile, "--input", input, "--output", output, "--top", "2"); err != nil {
		t.Fatalf("screen: %v\n%s", err, out)
	}
	got := readScreenOutput(t, output)
	if len(got) != 1 || len(got[0].Hits) != 4 {
		t.Fatalf("screen gave %+v, want one row with 4 hits", got)
	}
	ids := map[string]bool{}
	for _, h := range got[0].Hits {
		ids[h.AlertID] = true
		for _, n := range h.Namesakes {
			ids[n] = true
		}
	}
	if n := len(got[0].Hits[3].Namesakes); n != 26 || len(ids) != 30 {
		t.Fatalf("%d namesakes on the last hit, %d alerts in all; want 26 and 30", n, len(ids))
	}
}
