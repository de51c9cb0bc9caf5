package mrz

// weights are the ICAO 9303 check-digit weights, repeated over the field.
var weights = [3]int{7, 3, 1}

// charValue is the ICAO 9303 value of one zone character: digits as
// themselves, A = 10 .. Z = 35, '<' = 0. ok is false for anything else.
func charValue(c byte) (v int, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// CheckDigit returns the ICAO 9303 check digit ('0'..'9') of field: the sum
// of each character's value times the weights 7, 3, 1 in turn, modulo 10.
// ok is false if field holds a character outside A-Z, 0-9 and '<'.
func CheckDigit(field string) (digit byte, ok bool) {
	sum := 0
	for i := 0; i < len(field); i++ {
		v, ok := charValue(field[i])
		if !ok {
			return 0, false
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), true
}
