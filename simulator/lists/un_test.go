package lists

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
)

func TestParseUN(t *testing.T) {
	f, err := os.Open(sharedData(t, "ofac/un_2026-02/UN_consolidated.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	as, err := ParseUN(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	persons := 0
	for i := range as {
		if err := as[i].Validate(); err != nil {
			t.Fatal(err)
		}
		if as[i].Subject.Kind == store.SubjectPerson {
			persons++
		}
	}
	// The README: 730 individuals, 273 entities.
	if len(as) != 1003 || persons != 730 {
		t.Fatalf("%d alerts, %d persons; want 1003 and 730", len(as), persons)
	}
	m := byID(as)
	a := m["UN-CDi.001"]
	p := a.Subject.Person
	if p == nil || p.Surname != "BADEGE" || p.Forenames != "ERIC" || p.BirthDate != "1971" || p.Sex != "M" ||
		!reflect.DeepEqual(p.Nationalities, []string{"CD"}) || a.Category != "sanctions:UN-DRC" ||
		!a.Issued.Equal(time.Date(2012, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("CDi.001: %+v %+v", a, p)
	}
	// CDi.003 has a "Low" quality alias (Rumuli), left out, and good ones.
	p = m["UN-CDi.003"].Subject.Person
	if p == nil || len(p.Aliases) == 0 {
		t.Fatalf("CDi.003: %+v", m["UN-CDi.003"].Subject)
	}
	for _, al := range p.Aliases {
		if al == "Rumuli" {
			t.Error("low quality alias kept")
		}
	}
	if c := m["UN-CDe.001"].Subject.Company; c == nil || c.Name != "ADF" {
		t.Errorf("CDe.001: %+v", m["UN-CDe.001"].Subject)
	}
}

const unMinimal = `<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>ANNA</FIRST_NAME><SECOND_NAME>TESTOVA</SECOND_NAME>
<UN_LIST_TYPE>X</UN_LIST_TYPE><REFERENCE_NUMBER>XXi.001</REFERENCE_NUMBER>
<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1970-02-03</DATE></INDIVIDUAL_DATE_OF_BIRTH>
</INDIVIDUAL></INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>`

// endless yields the same bytes for ever.
type endless string

func (e endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], e)
	}
	return n, nil
}

func TestParseUNRefuses(t *testing.T) {
	as, err := ParseUN(strings.NewReader(unMinimal), Options{})
	if err != nil || len(as) != 1 || as[0].Subject.Person.BirthDate != "1970-02-03" {
		t.Fatalf("minimal list: %v %+v", err, as)
	}
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
		`<CONSOLIDATED_LIST>&lol2;</CONSOLIDATED_LIST>`
	xxe := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><CONSOLIDATED_LIST>&xxe;</CONSOLIDATED_LIST>`
	deep := "<CONSOLIDATED_LIST>" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</CONSOLIDATED_LIST>"
	twice := strings.Replace(unMinimal, "<ENTITIES/>", "<ENTITIES><ENTITY><FIRST_NAME>E</FIRST_NAME><REFERENCE_NUMBER>XXi.001</REFERENCE_NUMBER></ENTITY></ENTITIES>", 1)
	for name, tc := range map[string]struct {
		in   io.Reader
		want error
	}{
		"billion laughs":   {strings.NewReader(bomb), ErrXMLUnsafe},
		"external entity":  {strings.NewReader(xxe), ErrXMLUnsafe},
		"deep nesting":     {strings.NewReader(deep), ErrXMLUnsafe},
		"undeclared ent":   {strings.NewReader("<CONSOLIDATED_LIST>&foo;</CONSOLIDATED_LIST>"), ErrUNFormat},
		"not xml":          {strings.NewReader("id,name\n1,x\n"), ErrUNFormat},
		"truncated":        {strings.NewReader(unMinimal[:200]), ErrUNFormat},
		"mismatched tags":  {strings.NewReader("<CONSOLIDATED_LIST><INDIVIDUALS></ENTITIES></CONSOLIDATED_LIST>"), ErrUNFormat},
		"no reference":     {strings.NewReader(strings.Replace(unMinimal, "XXi.001", "", 1)), ErrUNFormat},
		"repeated ref":     {strings.NewReader(twice), ErrUNFormat},
		"no name":          {strings.NewReader(strings.Replace(strings.Replace(unMinimal, "ANNA", "", 1), "TESTOVA", "", 1)), store.ErrInvalidAlert},
		"latin-1 declared": {strings.NewReader(`<?xml version="1.0" encoding="ISO-8859-1"?><CONSOLIDATED_LIST/>`), ErrUNFormat},
		"too large":        {io.MultiReader(strings.NewReader("<CONSOLIDATED_LIST><!--"), endless("          ")), ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseUN(tc.in, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}
