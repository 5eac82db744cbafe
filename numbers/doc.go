// Package numbers owns the rules for the telephone numbers kcc itself
// dials: it reads a caller-ID or a configured target into a Dutch number
// and says whether kcc may call it (a callback, an IVR transfer). Only
// geographic, mobile and business numbers in the Netherlands pass; premium
// (090x), personal (084), paging, machine-to-machine, short codes (112,
// 14xxx) and foreign numbers are refused, so a spoofed caller-ID cannot make
// the municipality run up a bill.
//
// It is a leaf package: it imports nothing of kcc's, and anyone may import it.
package numbers
