// Package peertest drives the real SIP peers kcc's integration tests talk to:
// baresip (a softphone, used as agent or caller, controlled over its ctrl_tcp
// netstring interface), SIPp (Debian package sip-tester) and tcpdump, whose
// captures it parses so tests can count RTP per direction and read the SIP
// messages that crossed the wire.
//
// Only tests import it. Every process it starts is stopped by t.Cleanup.
// Recipes and gotchas: shared/PEERS.md.
package peertest
