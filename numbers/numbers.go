package numbers

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers branch on.
var (
	// ErrWithheld is returned for an empty or anonymous caller-ID: there is
	// no number to call back.
	ErrWithheld = errors.New("number withheld")
	// ErrNotDialable is returned for a number kcc must not call (foreign,
	// premium, a short code, malformed).
	ErrNotDialable = errors.New("number not dialable")
)

// Dutch is a Dutch subscriber number, kept as its nine-digit national
// significant number (without the trunk prefix 0).
type Dutch struct{ nsn string }

// National is the number as dialled in the Netherlands: "0612345678".
func (d Dutch) National() string { return "0" + d.nsn }

// E164 is the number in international format: "+31612345678".
func (d Dutch) E164() string { return "+31" + d.nsn }

// String is National.
func (d Dutch) String() string { return d.National() }

// Digits are the national number's digits one by one, for reading it back
// to the caller.
func (d Dutch) Digits() string { return d.National() }

// anonymous are the user parts phones and carriers send for a withheld
// caller-ID (RFC 3323 §4.1.1.3 and common practice).
var anonymous = map[string]bool{"": true, "anonymous": true, "restricted": true, "unavailable": true, "unknown": true, "private": true}

// Parse reads a caller-ID or configured number: national ("0612345678"),
// international ("+31612345678", "0031612345678") or with the country code
// bare ("31612345678", as some carriers send it). Spaces, dashes, dots and
// parentheses are ignored. It returns ErrWithheld for an anonymous caller-ID
// and ErrNotDialable for anything kcc must not call.
func Parse(s string) (Dutch, error) {
	raw := strings.TrimSpace(s)
	if anonymous[strings.ToLower(raw)] {
		return Dutch{}, ErrWithheld
	}
	var b strings.Builder
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return Dutch{}, fmt.Errorf("%w: %q has a %q", ErrNotDialable, s, r)
		}
	}
	n := b.String()
	var nsn string
	switch {
	case strings.HasPrefix(n, "+31"):
		nsn = n[3:]
	case strings.HasPrefix(n, "0031"):
		nsn = n[4:]
	case strings.HasPrefix(n, "00"), strings.HasPrefix(n, "+"):
		return Dutch{}, fmt.Errorf("%w: %q is not a Dutch number", ErrNotDialable, s)
	case strings.HasPrefix(n, "31") && len(n) == 11:
		nsn = n[2:]
	case strings.HasPrefix(n, "0"):
		nsn = n[1:]
	default:
		return Dutch{}, fmt.Errorf("%w: %q is not a full Dutch number", ErrNotDialable, s)
	}
	// A trunk prefix kept after the country code (+31 06...) is a common
	// mistake; the number is still unambiguous.
	if len(nsn) == 10 && nsn[0] == '0' {
		nsn = nsn[1:]
	}
	if len(nsn) != 9 || nsn[0] == '0' {
		return Dutch{}, fmt.Errorf("%w: %q does not have the ten digits of a Dutch number", ErrNotDialable, s)
	}
	if why := refused(nsn); why != "" {
		return Dutch{}, fmt.Errorf("%w: %q is %s", ErrNotDialable, s, why)
	}
	return Dutch{nsn: nsn}, nil
}

// refused says why kcc must not call the national significant number nsn
// (nine digits, first not 0), or "" when it may. The Dutch numbering plan
// (ACM, Nummerplan telefoon- en ISDN-diensten) assigns:
//
//	1-5, 7x      geographic areas           allowed
//	61-65, 68    mobile                     allowed
//	66           paging                     refused
//	67           data and internet access   refused
//	800          freephone                  refused (not a resident's line)
//	84, 87       personal numbering         refused (84 is charged extra)
//	85, 88       business, location-free    allowed
//	90x          premium rate               refused
//	91           business mobile            allowed
//	97           machine-to-machine         refused
func refused(nsn string) string {
	switch nsn[0] {
	case '1', '2', '3', '4', '5', '7':
		return ""
	case '6':
		switch nsn[1] {
		case '1', '2', '3', '4', '5', '8':
			return ""
		case '6':
			return "a paging number"
		}
		return "not a mobile number in use"
	case '8':
		switch nsn[1] {
		case '5', '8':
			return ""
		case '0':
			return "a freephone number"
		case '4', '7':
			return "a personal number"
		}
		return "not a number in use"
	case '9':
		switch nsn[1] {
		case '0':
			return "a premium-rate number"
		case '1':
			return ""
		case '7':
			return "a machine-to-machine number"
		}
		return "not a number in use"
	}
	return "not a number in use"
}

// Target reads a transfer target that an admin configured and returns it
// as kcc dials it: what Parse accepts in E.164, and besides the numbers a
// resident cannot have but a municipality transfers to: freephone numbers
// (0800 and four or seven digits) and municipal service numbers (14 and the
// area code, such as 14070), both in national form. Premium and personal
// numbers stay refused.
func Target(s string) (string, error) {
	if d, err := Parse(s); err == nil {
		return d.E164(), nil
	}
	n := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	allDigits := n != ""
	for _, r := range n {
		if r < '0' || r > '9' {
			allDigits = false
		}
	}
	switch {
	case !allDigits:
	case strings.HasPrefix(n, "0800") && (len(n) == 8 || len(n) == 11):
		return n, nil
	case strings.HasPrefix(n, "14") && (len(n) == 5 || len(n) == 6) && n[2] == '0':
		return n, nil
	}
	return "", fmt.Errorf("%w: %q is not a number kcc may transfer to", ErrNotDialable, s)
}
