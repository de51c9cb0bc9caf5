package mrz

import "golang.org/x/text/language"

// specialCodes are the ICAO 9303 (Part 3) codes that ISO 3166-1 alpha-3 does
// not hold, decided one by one. An empty value means the code names no
// country (an organisation or a status), so the Check carries no country
// for it; the code itself stays in the Document.
var specialCodes = map[string]string{
	// Germany writes its code as "D" (filled "D<<").
	"D": "DE",
	// British nationality categories; all are issued by the United Kingdom.
	"GBD": "GB", // British Overseas Territories citizen
	"GBN": "GB", // British National (Overseas)
	"GBO": "GB", // British Overseas citizen
	"GBP": "GB", // British protected person
	"GBS": "GB", // British subject
	// Kosovo's own passports use RKS; XK is the code the EU uses for it.
	"RKS": "XK",
	// Organisations issuing travel documents: no country.
	"EUE": "", // European Union
	"UNO": "", // United Nations Organization
	"UNA": "", // United Nations specialized agency
	"UNK": "", // resident of Kosovo, document issued by UNMIK
	"XBA": "", // African Development Bank
	"XCC": "", // Caribbean Community
	"XCE": "", // Council of Europe
	"XCO": "", // Common Market for Eastern and Southern Africa
	"XDC": "", // Southern African Development Community
	"XEC": "", // Economic Community of West African States
	"XES": "", // Organisation of Eastern Caribbean States
	"XIM": "", // African Export-Import Bank
	"XMP": "", // Parliamentary Assembly of the Mediterranean
	"XOM": "", // Sovereign Military Order of Malta
	"XPO": "", // Interpol
	// Statuses in place of a nationality: no country.
	"XXA": "", // stateless person (1954 Convention)
	"XXB": "", // refugee (1951 Convention)
	"XXC": "", // refugee, other than under the 1951 Convention
	"XXX": "", // unspecified nationality
}

// countryAlpha2 maps a zone's state code, fillers removed ("D", "UTO",
// "FRA"), to ISO 3166-1 alpha-2. It returns "" for organisations, statuses
// and codes that name no known country, such as the ICAO specimen state
// "UTO": those are valid in a zone, the Check simply carries no country.
func countryAlpha2(code string) string {
	if a2, ok := specialCodes[code]; ok {
		return a2
	}
	if len(code) != 3 || !isLetter(code[0]) || !isLetter(code[1]) || !isLetter(code[2]) {
		return ""
	}
	// ParseRegion also takes alpha-2 and numeric codes: only three letters
	// reach it here. It accepts user-assigned codes (AAA, QMM, ZZZ) too,
	// which IsCountry rejects.
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() {
		return ""
	}
	return r.String()
}
