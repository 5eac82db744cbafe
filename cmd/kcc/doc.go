// Command kcc is the contact-centre telephony server. main.go is the one
// place that builds and wires every component; nothing imports this package.
//
// Usage:
//
//	kcc serve [--config FILE]   answer calls (compiled-in defaults without --config)
//	kcc version                 print the version
package main
