package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
		"q4,vessel,Something,,\n" +
		"q5,person,Omar Hadad,1971-13,\n"
	input := filepath.Join(dir, "q.csv")
	os.WriteFile(input, []byte(csv), 0o600)
	output := filepath.Join(dir, "out.jsonl")
	if out, err := runRoot(t, "", "screen", "--alerts", alertsFile, "--input", input, "--output", output); err != nil {
		t.Fatalf("screen: %v\n%s", err, out)
	}
	f, _ := os.Open(output)
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
	if len(got) != 5 {
		t.Fatalf("%d result lines, want 5", len(got))
	}
	for i, want := range []string{"q1", "q2", "q3", "q4", "q5"} {
		if got[i].Ref != want {
			t.Errorf("line %d is %s: results out of input order", i, got[i].Ref)
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
	if got[3].Error == "" || got[4].Error == "" {
		t.Errorf("bad rows not reported: %+v %+v", got[3], got[4])
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
	if err := readAlertsFile(strings.NewReader(good), "a.jsonl", func(a store.Alert) { ids = append(ids, a.ID) }); err != nil {
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
	err := readAlertsFile(strings.NewReader(strings.Join(lines, "\n")), "a.jsonl", func(store.Alert) {})
	if err == nil || !strings.Contains(err.Error(), "a.jsonl line 9000:") {
		t.Fatalf("bad line 9000: %v", err)
	}
}
