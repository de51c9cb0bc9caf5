package lists

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// maxListFile bounds one list file read into memory; the largest real
// file (SDN 2021, UN 2026) is about 2 MB.
const maxListFile = 64 << 20

// OFAC SDN and non-SDN legacy file names inside a folder.
const (
	ofacSDN      = "sdn.csv"
	ofacAdd      = "add.csv"
	ofacAlt      = "alt.csv"
	ofacComments = "sdn_comments.csv"
)

// OFAC consolidated (non-SDN) file names, same layout.
const (
	consPrim     = "cons_prim.csv"
	consAdd      = "cons_add.csv"
	consAlt      = "cons_alt.csv"
	consComments = "cons_comments.csv"
)

// OFACFiles holds the OFAC legacy CSV files of one snapshot. SDN is
// required; Add, Alt and Comments may be nil (no addresses, no strong
// aliases, no extended remarks). NonSDN marks the consolidated non-SDN
// files (cons_prim.csv and friends): IDs are then "OFAC-CONS-<ent_num>".
type OFACFiles struct {
	SDN, Add, Alt, Comments io.Reader
	NonSDN                  bool
}

// ParseOFACDir reads sdn.csv, add.csv and alt.csv (and sdn_comments.csv
// when present) from fsys and returns one alert per SDN entry as
// ParseOFAC does. A folder without sdn.csv but with cons_prim.csv is read
// as the non-SDN consolidated list (cons_add.csv, cons_alt.csv,
// cons_comments.csv). A missing main, address or alias file is an error.
func ParseOFACDir(fsys fs.FS, opt Options) ([]store.Alert, error) {
	var files OFACFiles
	names := [4]string{ofacSDN, ofacAdd, ofacAlt, ofacComments}
	if _, err := fs.Stat(fsys, ofacSDN); errors.Is(err, fs.ErrNotExist) {
		if _, err := fs.Stat(fsys, consPrim); err == nil {
			names = [4]string{consPrim, consAdd, consAlt, consComments}
			files.NonSDN = true
		}
	}
	for _, f := range []struct {
		name     string
		dst      *io.Reader
		optional bool
	}{{names[0], &files.SDN, false}, {names[1], &files.Add, false}, {names[2], &files.Alt, false}, {names[3], &files.Comments, true}} {
		r, err := fsys.Open(f.name)
		if f.optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ofac: open %s: %w", f.name, err)
		}
		defer r.Close()
		*f.dst = r
	}
	return ParseOFAC(files, opt)
}

// ParseOFAC returns one alert per entry of an OFAC SDN (or non-SDN
// consolidated) legacy CSV snapshot, in file order, each with ID
// "OFAC-SDN-<ent_num>", source "OFAC", action "inform", category
// "sanctions:<programs>" and a content version (README.md gives the whole
// mapping). Every alert passes store's Validate. A malformed row, an entry
// number that is not a positive integer or a repeated entry is an error
// naming the file and line; aliases and addresses of unknown entries are
// ignored.
func ParseOFAC(files OFACFiles, opt Options) ([]store.Alert, error) {
	if files.SDN == nil {
		return nil, fmt.Errorf("ofac: %w: no sdn.csv", ErrOFACFormat)
	}
	type entry struct {
		f       []string
		aliases []string
		addrs   [][]string
		more    string
	}
	var order []int
	entries := map[int]*entry{}
	err := readOFACFile(files.SDN, ofacSDN, 12, func(line int, f []string) error {
		n, err := entNum(f[0])
		if err != nil {
			return fmt.Errorf("ofac: %s line %d: %w", ofacSDN, line, err)
		}
		if entries[n] != nil {
			return fmt.Errorf("ofac: %s line %d: %w: entry %d repeated", ofacSDN, line, ErrOFACFormat, n)
		}
		entries[n] = &entry{f: f}
		order = append(order, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	attach := func(r io.Reader, name string, fields int, fn func(e *entry, f []string)) error {
		if r == nil {
			return nil
		}
		return readOFACFile(r, name, fields, func(line int, f []string) error {
			n, err := entNum(f[0])
			if err != nil {
				return fmt.Errorf("ofac: %s line %d: %w", name, line, err)
			}
			if e := entries[n]; e != nil {
				fn(e, f)
			}
			return nil
		})
	}
	if err := attach(files.Alt, ofacAlt, 5, func(e *entry, f []string) { e.aliases = append(e.aliases, f[3]) }); err != nil {
		return nil, err
	}
	if err := attach(files.Add, ofacAdd, 6, func(e *entry, f []string) { e.addrs = append(e.addrs, f) }); err != nil {
		return nil, err
	}
	if err := attach(files.Comments, ofacComments, 2, func(e *entry, f []string) { e.more += f[1] }); err != nil {
		return nil, err
	}
	out := make([]store.Alert, 0, len(order))
	for _, n := range order {
		e := entries[n]
		a := ofacAlert(n, e.f, e.aliases, e.addrs, e.more, files.NonSDN, opt)
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("ofac: entry %d: %w", n, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// readOFACFile reads one OFAC CSV file, dropping the trailing Ctrl-Z OFAC
// appends, and calls fn with each row, "-0-" fields emptied.
func readOFACFile(r io.Reader, name string, fields int, fn func(line int, f []string) error) error {
	data, err := io.ReadAll(io.LimitReader(r, maxListFile+1))
	if err != nil {
		return fmt.Errorf("ofac: read %s: %w", name, err)
	}
	if len(data) > maxListFile {
		return fmt.Errorf("ofac: %s: %w: more than %d bytes", name, ErrTooLarge, maxListFile)
	}
	data = bytes.TrimRight(data, "\x1a\r\n")
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = fields
	cr.ReuseRecord = false
	for {
		f, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ofac: %s: %w: %w", name, ErrOFACFormat, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range f {
			if strings.TrimSpace(f[i]) == "-0-" {
				f[i] = ""
			}
		}
		if err := fn(line, f); err != nil {
			return err
		}
	}
}

func entNum(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: entry number is not a positive integer", ErrOFACFormat)
	}
	return n, nil
}

// ofacAlert maps one SDN row with its aliases, addresses and extended
// remarks to an alert.
func ofacAlert(n int, f, aliases []string, addrs [][]string, more string, nonSDN bool, opt Options) store.Alert {
	id, list := "OFAC-SDN-", "OFAC SDN list"
	if nonSDN {
		id, list = "OFAC-CONS-", "OFAC consolidated non-SDN list"
	}
	name := strings.TrimSpace(f[1])
	programs := cleanList(strings.Split(strings.NewReplacer("[", "", "]", ";").Replace(f[3]), ";"))
	rem := parseRemarks(f[11] + more)
	a := store.Alert{
		ID:         id + strconv.Itoa(n),
		Source:     "OFAC",
		Category:   "sanctions:" + strings.Join(programs, ","),
		Action:     "inform",
		LegalBasis: list + ", programs " + strings.Join(programs, ", "),
		Authority:  "US Treasury OFAC",
		Purposes:   opt.purposes(),
	}
	company := func(country string) *store.Company {
		c := &store.Company{Name: name, Aliases: cleanList(aliases, name), Country: country, Identifiers: rem.companyIMO}
		if len(addrs) > 0 {
			ad := addrs[0]
			c.Address = joinNonEmpty(", ", ad[2], ad[3])
			if c.Country == "" {
				c.Country = countryCode(ad[4])
			}
		}
		return c
	}
	switch strings.TrimSpace(f[2]) {
	case "individual":
		sur, fore := splitOFACName(name)
		var al []string
		for _, x := range aliases {
			s, g := splitOFACName(x)
			al = append(al, strings.TrimSpace(g+" "+s))
		}
		a.Subject = store.Subject{Kind: store.SubjectPerson, Person: &store.Person{
			Surname: sur, Forenames: fore, Aliases: cleanList(al, strings.TrimSpace(fore+" "+sur)),
			BirthDate: rem.birthDate, Sex: rem.sex, Nationalities: rem.nationalities,
		}}
	case "vessel":
		if rem.vesselIMO != "" {
			a.Subject = store.Subject{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: rem.vesselIMO, Name: name, Aliases: cleanList(aliases, name)}}
			break
		}
		// A vessel without a verified IMO number can still be named in a
		// declaration: kept as a company so the name stays screenable.
		a.Subject = store.Subject{Kind: store.SubjectCompany, Company: company(countryCode(f[9]))}
	case "aircraft":
		reg := rem.tailNumber
		if reg == "" {
			reg = name
		}
		if r, err := ident.NormalizeAircraft(reg); err == nil {
			a.Subject = store.Subject{Kind: store.SubjectAircraft, Aircraft: &store.Aircraft{Registration: r}}
			break
		}
		a.Subject = store.Subject{Kind: store.SubjectCompany, Company: company("")}
	default:
		a.Subject = store.Subject{Kind: store.SubjectCompany, Company: company("")}
	}
	if p := a.Subject.Person; p != nil && p.Surname == "" {
		p.Surname = name
	}
	a.Version = contentVersion(a)
	return a
}

// splitOFACName splits "SURNAME, Given names" at the first comma; a name
// without a comma is all surname.
func splitOFACName(s string) (surname, forenames string) {
	sur, fore, _ := strings.Cut(s, ",")
	return strings.Join(strings.Fields(sur), " "), strings.Join(strings.Fields(fore), " ")
}

// joinNonEmpty joins the parts that are not blank, each with its white
// space squeezed.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
