package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/mrz"
	"github.com/borderpost/borderpost/store"
)

// alpha3 is the MRZ code of each country the generator draws.
var alpha3 = map[string]string{"DE": "D<<", "FR": "FRA", "NL": "NLD", "BE": "BEL", "PL": "POL", "AT": "AUT", "IT": "ITA",
	"ES": "ESP", "CZ": "CZE", "SK": "SVK", "HU": "HUN", "RO": "ROU", "BG": "BGR", "GR": "GRC", "HR": "HRV", "SI": "SVN",
	"LT": "LTU", "LV": "LVA", "EE": "EST", "FI": "FIN", "SE": "SWE", "DK": "DNK", "UA": "UKR", "TR": "TUR", "RS": "SRB"}

// passportMRZ returns the two lines of a TD3 passport: issuing state and
// nationality as 2-letter codes, birth as YYYY-MM-DD, sex M or F.
func passportMRZ(state, surname, forenames, number, nationality, birth, sex string) [2]string {
	up := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				return r
			}
			return '<'
		}, s)
	}
	pad := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s + strings.Repeat("<", n-len(s))
	}
	cd := func(s string) string { d, _ := mrz.CheckDigit(s); return string(d) }
	iss, nat := alpha3[state], alpha3[nationality]
	if iss == "" {
		iss = "UTO"
	}
	if nat == "" {
		nat = "UTO"
	}
	l1 := pad("P<"+iss+up(surname)+"<<"+up(forenames), 44)
	num := pad(up(number), 9)
	dob := strings.ReplaceAll(birth, "-", "")
	if len(dob) == 8 {
		dob = dob[2:]
	} else {
		dob = "800101"
	}
	exp := "310101"
	personal := pad("", 14)
	l2 := num + cd(num) + nat + dob + cd(dob) + sex + exp + cd(exp) + personal + cd(personal)
	composite := l2[0:10] + l2[13:20] + l2[21:43]
	return [2]string{l1, l2 + cd(composite)}
}

// runPassportLane sends a passport read to the agent's MRZ reader every
// interval: in turn the passport of a person sought (a person hit), a
// document sought (a document hit), and an ordinary traveller, so the
// officers' page shows person and document hits beside plates and
// containers.
// It adds the hits the agent reports to hits.
func runPassportLane(ctx context.Context, url string, alerts []store.Alert, every time.Duration, hits *atomic.Int64) {
	var persons, docs, vehicles, boxes []store.Alert
	for _, a := range alerts {
		switch {
		case a.Subject.Person != nil && len(a.Subject.Person.Nationalities) > 0:
			persons = append(persons, a)
		case a.Subject.Document != nil:
			docs = append(docs, a)
		case a.Subject.Vehicle != nil && a.Subject.Vehicle.Plate != "":
			vehicles = append(vehicles, a)
		case a.Subject.Container != nil:
			boxes = append(boxes, a)
		}
	}
	if len(persons) == 0 || len(docs) == 0 || len(vehicles) == 0 || len(boxes) == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	hc := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if i%4 == 3 {
			p := persons[rng.IntN(len(persons))].Subject.Person
			v := vehicles[rng.IntN(len(vehicles))].Subject.Vehicle
			box := boxes[rng.IntN(len(boxes))].Subject.Container.Number
			res := postJSON(ctx, hc, url+"/v1/ens", roadENS(i, p.Forenames+" "+p.Surname, v.Plate, v.PlateCountry, box))
			hits.Add(int64(len(res.Hits)))
			continue
		}
		number := fmt.Sprintf("C%08d", rng.IntN(1e8))
		var lines [2]string
		switch i % 4 {
		case 0:
			p := persons[rng.IntN(len(persons))].Subject.Person
			sex := p.Sex
			if sex == "" {
				sex = "<"
			}
			lines = passportMRZ(p.Nationalities[0], p.Surname, p.Forenames, number, p.Nationalities[0], p.BirthDate, sex)
		case 1:
			d := docs[rng.IntN(len(docs))].Subject.Document
			lines = passportMRZ(d.Country, "Traveller", "Alex", d.Number, d.Country, "1985-06-15", "M")
		default:
			lines = passportMRZ("NL", "Jansen", "Pieter", number, "NL", "1979-02-11", "M")
		}
		res := postJSON(ctx, hc, url+mrz.HTTPPath, map[string]any{"lines": lines[:], "device": "passport-reader-1"})
		hits.Add(int64(len(res.Hits)))
	}
}

// postJSON sends v as JSON and returns the agent's answer (empty on failure:
// the demo goes on).
func postJSON(ctx context.Context, hc *http.Client, url string, v any) devices.Result {
	var res devices.Result
	body, _ := json.Marshal(v)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return res
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		json.NewDecoder(resp.Body).Decode(&res)
	}
	return res
}

// roadENS is an ICS2 road entry summary declaration (F50) whose consignor
// is driver, whose truck carries plate and whose trailer is the container
// box: a name, plate and container hit from one declaration.
func roadENS(n int, driver, plate, country, box string) map[string]any {
	now := time.Now().UTC()
	return map[string]any{
		"message_type": "IE3F50", "lrn": fmt.Sprintf("ROAD-DEMO-%06d", n), "issue_date": now.Format(time.RFC3339),
		"addressed_member_state": "PL", "office_of_first_entry": "PL354010",
		"expected_arrival": now.Add(2 * time.Hour).Format(time.RFC3339), "place_of_loading": "UAKBP", "place_of_unloading": "PLWAW",
		"parties":      []any{map[string]any{"role": "declarant", "name": "Trans-Bug Sp. z o.o.", "id": "PL5260001246", "type_of_person": "2"}},
		"active_means": []any{map[string]any{"type_of_identification": "30", "identification": plate, "nationality": country, "mode": "3"}},
		"consignment": map[string]any{
			"transport_document":  map[string]any{"type": "730", "reference": "CMR 0091234"},
			"gross_mass":          "21000",
			"transport_equipment": []any{map[string]any{"container": box}},
			"routing_countries":   []string{"UA", "PL"},
			"house_consignments": []any{map[string]any{
				"parties": []any{
					map[string]any{"role": "consignor", "name": driver, "type_of_person": "1", "address": map[string]any{"city": "Kyiv", "country": "UA"}},
					map[string]any{"role": "consignee", "name": "Hurtownia Zboża S.A.", "id": "PL7010001454", "address": map[string]any{"city": "Warszawa", "country": "PL"}},
				},
				"goods_items": []any{map[string]any{"item_number": 1, "description": "Sunflower seeds, in bulk bags", "hs_code": "120600",
					"gross_mass": "21000", "packaging": []any{map[string]any{"type": "JB", "count": 21}}}},
			}},
		},
	}
}
