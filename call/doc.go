// Package call holds the small vocabulary every layer of kcc shares: contact
// identifiers, DTMF digits and languages. It has no logic and imports nothing
// from kcc, so any package may import it.
package call
