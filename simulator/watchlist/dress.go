package watchlist

import (
	"math/rand/v2"

	"github.com/borderpost/borderpost/store"
)

// instruction is one kind of action an alert may ask for, in the words an
// officer reads, with the warnings it often carries.
type instruction struct {
	category, action string
	warnings         []string
}

// instructions by subject: arrest, refusal, seizure, checks and informing,
// so that the demo shows every kind of hit an officer triages.
var instructions = map[store.SubjectKind][]instruction{
	store.SubjectPerson: {
		{"art26-arrest", "Arrest: European arrest warrant", []string{"armed", "violent"}},
		{"art26-arrest", "Arrest for extradition", []string{"escape risk"}},
		{"art24-refusal", "Refuse entry", nil},
		{"art36-discreet-check", "Discreet check: do not alert the subject", []string{"armed"}},
		{"art36-specific-check", "Specific check of the person and belongings", nil},
		{"art34-inform", "Inform: witness sought by a court", nil},
		{"art32-missing", "Missing person: protect, inform the issuing authority", []string{"self-harm risk"}},
	},
	store.SubjectVehicle: {
		{"art26-arrest", "Arrest the driver", []string{"armed", "violent"}},
		{"art38-seizure", "Seize the vehicle", nil},
		{"art36-discreet-check", "Discreet check of the vehicle and its occupants", nil},
		{"art36-specific-check", "Specific check of the vehicle", []string{"contagion risk"}},
		{"art38-inform", "Inform: stolen vehicle, owner compensated", nil},
	},
	store.SubjectDocument: {
		{"art38-seizure", "Seize the document", nil},
		{"art24-refusal", "Refuse entry: invalidated document", nil},
		{"art38-inform", "Inform: document reported lost", nil},
	},
	store.SubjectContainer: {
		{"art38-seizure", "Seize the goods", nil},
		{"art36-specific-check", "Specific check of the container", []string{"hazardous load"}},
		{"customs-inform", "Inform customs intelligence", nil},
	},
	store.SubjectCompany: {
		{"customs-specific-check", "Specific check of the consignment", nil},
		{"customs-inform", "Inform customs intelligence", nil},
	},
	store.SubjectFirearm: {
		{"art38-seizure", "Seize the firearm", []string{"armed"}},
	},
}

var (
	vehicleColours = []string{"black", "white", "silver", "grey", "dark blue", "red", "green", "beige", "white with a blue stripe"}
	vehicleMakes   = [][2]string{{"Volkswagen", "Passat"}, {"Skoda", "Octavia"}, {"BMW", "X5"}, {"Mercedes-Benz", "Sprinter"},
		{"Toyota", "Land Cruiser"}, {"Renault", "Trafic"}, {"Audi", "A6"}, {"Ford", "Transit"}, {"Volvo", "FH16"}, {"Dacia", "Duster"}}
	authorities = []string{"SIRENE Bureau", "Federal Criminal Police Office", "Public Prosecutor's Office", "Customs Intelligence Unit"}
)

// Dress gives alerts what an officer reads on a hit, drawn from its own
// seeded source so that the generator's draws (and the lists other tests
// rely on) stay as they are: an action and category for the subject, with
// warnings some of the time; make, model and colour of vehicles; the legal basis
// and issuing authority; and the border purpose, so that an officer sees
// them. It changes the alerts in place.
func Dress(alerts []store.Alert, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	colours := rand.New(rand.NewPCG(seed^0x9e3779b9, seed)) // a source of its own: the other draws stay as they were
	for i := range alerts {
		a := &alerts[i]
		if ins := instructions[a.Subject.Kind]; len(ins) > 0 {
			in := ins[rng.IntN(len(ins))]
			a.Category, a.Action = in.category, in.action
			a.Warnings = nil
			if len(in.warnings) > 0 && rng.IntN(2) == 0 {
				a.Warnings = append([]string(nil), in.warnings...)
			}
		}
		if v := a.Subject.Vehicle; v != nil && v.Make == "" {
			m := vehicleMakes[rng.IntN(len(vehicleMakes))]
			v.Make, v.Model = m[0], m[1]
			v.Colour = vehicleColours[colours.IntN(len(vehicleColours))]
		}
		a.LegalBasis = "Regulation (EU) 2018/1862, " + a.Category
		a.Authority = authorities[rng.IntN(len(authorities))]
		hasBorder := false
		for _, p := range a.Purposes {
			hasBorder = hasBorder || p == "border"
		}
		if !hasBorder {
			a.Purposes = append(a.Purposes, "border")
		}
	}
}
