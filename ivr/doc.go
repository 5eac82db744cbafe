// Package ivr owns the IVR flows of kcc: the YAML flow format, its strict
// decoding with file:line:col positions, validation, compilation into an
// immutable versioned [Program], and the [Engine] that runs a program against
// one caller through the [Call] interface this package declares.
//
// ivr is pure: it knows nothing of SIP, RTP, HTTP or SQL, so flows can be
// validated and simulated without a network; from kcc it imports only kcc/call. The
// call lifecycle package imports it (and implements [Call] and [Checker]);
// cmd/kcc imports it to validate, simulate and graph flows. Lower layers must
// not import it.
//
// # Loading
//
// [Parse] decodes a flow file into a [Flow] (the file's shape with positions,
// for tools); [Compile] validates a Flow against the rest of the
// configuration through a [Checker] and produces a [Program]; [Load] does
// both. Every problem found is reported at once, each as a [Problem] that
// prints as "file:line:col: message", joined with errors.Join. A Program is
// immutable and safe to share between concurrent calls; its [Program.Version]
// is a hash of the source, so calls in progress can keep the version they
// started on while a new one is loaded.
//
// # Flow format
//
//	flow: "14070"            # the flow's name
//	numbers: ["14070"]       # service numbers answered with this flow (digits, optional leading +)
//	languages: [nl, en]      # prompt languages; the first is the language a call starts in
//	start: welkom            # the first node
//	nodes:
//	  welkom:   {play: [welkom], next: taal}
//	  taal:
//	    menu:
//	      prompt: kies-taal
//	      options:
//	        "1": {set: {language: nl}, next: hoofdmenu}
//	        "2": {set: {language: en}, next: hoofdmenu}
//	      timeout: 4s
//	      no_input: hoofdmenu
//	  hoofdmenu:
//	    menu:
//	      prompt: hoofdmenu
//	      options:
//	        "1": {queue: paspoort, topic: Paspoort}
//	        "9": {play: [zie-website], next: einde}
//	      invalid: {play: [ongeldige-keuze], next: hoofdmenu}
//	      retries: 3
//	      exhausted: {queue: algemeen, topic: Algemeen}
//	  einde:    {play: [tot-ziens], next: ophangen}
//	  ophangen: {hangup: normal}
//
// Every node does exactly one thing:
//
//   - play: a prompt name or a list of them, played in order (not
//     interruptible); then next.
//   - menu: plays prompt (a name or a list; a key pressed during it counts
//     as the answer), then waits timeout (default 5s, at most 1m) for a key.
//     A key in options runs that option's action; any other key runs invalid;
//     no key runs no_input. Both default to playing the menu again. Every
//     failed attempt counts against retries (default 3, at most 20) for that
//     menu node, also when the flow comes back to the menu through next, so
//     "invalid -> play -> next: menu" loops are bounded. When the count exceeds
//     retries, exhausted runs instead (default: hang up normally). A valid key
//     resets the count. A menu has no next.
//   - set: {language: en} switches the call's language (one of the flow's
//     languages); then next.
//   - queue: hands the caller to a routing queue, with an optional topic shown
//     to agents. When the queue is done, next if given, else the flow ends
//     with cause "queued".
//   - hangup: ends the flow with a cause: normal, busy, congestion or
//     rejected. It has no next.
//
// A play, set or queue node without next ends the flow (play and set with
// cause "normal"). An action (an option, invalid, no_input or exhausted) is
// either the name of a node or an inline node written as a map; inline nodes
// compile into anonymous nodes. Option keys are single DTMF keys: 0-9, *, #
// and A-D; quote them ("1", "*", "#"), since YAML reads * and # specially.
// Node, prompt and queue names use letters, digits, '-' and '_' (at most 64).
// A topic is at most 64 bytes of text without control characters, quotes or
// backslashes, since it travels to agents in a SIP header. A flow file is at
// most 1 MiB with at most 1000 nodes; at most 100 problems are listed.
//
// Unknown keys are errors. The keys hours, holidays and incident are reserved
// for opening hours, holidays and incident messages and are refused with "not
// supported yet" until that arrives. YAML aliases (*name) are refused too.
//
// # Running
//
// [Engine.Run] walks a Program from its start node, calling [Call] to play
// prompts, read keys and enqueue, until a hangup node, a queue without next,
// or a node without next. The [Result] carries the cause, the current
// language and the path the caller took: named nodes by name, menu outcomes
// as "menu:key", "menu:timeout" and "menu:exhausted". A run that takes more
// steps than the engine allows fails with [ErrMaxSteps], so a flow that loops
// without waiting for the caller cannot spin forever.
package ivr
