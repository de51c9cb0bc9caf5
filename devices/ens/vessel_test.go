package ens

import (
	"testing"

	"github.com/borderpost/borderpost/devices"
)

// A sea-going vessel identified by its name (CL750 code 11) is checked by
// name, like a company: a ship on a sanctions list is often declared by
// name alone.
func TestVesselNameIsChecked(t *testing.T) {
	d := &Declaration{MessageType: "IE3F10", ActiveMeans: []Means{
		{TypeOfIdentification: MeansVesselName, Identification: "  Sea   Morning Star ", Nationality: "PA", Mode: "1"},
		{TypeOfIdentification: MeansIMO, Identification: "IMO 9074729", Mode: "1"},
	}}
	c := d.Check("ens")
	var names, imos []devices.Item
	for _, it := range c.Items {
		switch it.Kind {
		case devices.KindCompany:
			names = append(names, it)
		case devices.KindIMO:
			imos = append(imos, it)
		}
	}
	if len(names) != 1 || names[0].Value != "Sea Morning Star" || names[0].Field != "active_means[0].identification" || names[0].Country != "PA" {
		t.Errorf("vessel name items %+v", names)
	}
	if len(imos) != 1 || imos[0].Value != "9074729" {
		t.Errorf("IMO items %+v", imos)
	}
}
