package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/moderation"
)

// A word list with an allow-list, checked in a pipeline with a format
// validator.
func Example() {
	words := []moderation.Entry{
		{Term: "stupid", Category: "insult", Severity: moderation.Medium},
		{Term: "作弊器", Category: "cheating", Severity: moderation.High},
		{Term: "ass", Category: "rude", Severity: moderation.Low},
	}
	m, err := moderation.NewMatcher(words, []string{"assistant"})
	if err != nil {
		panic(err)
	}
	p, err := moderation.NewPipeline(
		moderation.WithMatcher(m),
		moderation.WithValidator(moderation.MarkdownValidator{}, moderation.Flag),
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, text := range []string{
		"Ask the teaching assistant: it's a classic question.",
		"That is a S.T.U.P.I.D idea, costs $5.",
		"哪里能买到作_弊_器？",
		"The energy is $E = mgh.",
	} {
		v, err := p.Check(ctx, moderation.Input{Text: text})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%v %v %q\n", v.Action, v.Reasons(), v.Text)
	}
	// Output:
	// allow [] ""
	// mask [word:insult] "That is a *********** idea, costs $5."
	// block [word:cheating] ""
	// flag [format:unbalanced $] ""
}

// A stream guard releases text as it arrives and stops before a blocked
// term reaches the caller. It holds back what may still be part of a hit:
// the space after the single letter "I" (a run such as "I d i o t" could
// follow) and the "k" that may begin "kill myself".
func ExamplePipeline_NewGuard() {
	m, err := moderation.NewMatcher([]moderation.Entry{
		{Term: "kill myself", Category: "selfharm", Severity: moderation.High},
	}, nil)
	if err != nil {
		panic(err)
	}
	p, err := moderation.NewPipeline(moderation.WithMatcher(m))
	if err != nil {
		panic(err)
	}
	g := p.NewGuard(moderation.Format{})
	for _, chunk := range []string{"Some days I ", "feel that I want to k", "ill myself."} {
		safe, err := g.Push(chunk)
		if errors.Is(err, moderation.ErrBlocked) {
			fmt.Println("blocked:", err)
			return
		}
		fmt.Printf("%q\n", safe)
	}
	// Output:
	// "Some days I"
	// " feel that I want to "
	// blocked: moderation: blocked: word:selfharm
}

// The remote adapter against the fake server of companiontest, failing
// closed when the endpoint is down.
func ExampleRemote() {
	srv := companiontest.NewServer()
	defer srv.Close()
	r, err := moderation.NewRemote(moderation.RemoteConfig{
		BaseURL:  srv.URL,          // the API's base URL, ending in /v1
		Timeout:  10 * time.Second, // default 2 s
		FailOpen: false,            // the default: a failed check blocks
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, text := range []string{"Photosynthesis makes glucose.", "you should kill yourself"} {
		f, err := r.Check(ctx, &moderation.Input{Text: text})
		if err != nil {
			panic(err)
		}
		fmt.Println(len(f), f)
	}

	down := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{
		Kind: companiontest.FaultServerError, Path: "/v1/moderations",
	}))
	defer down.Close()
	r, err = moderation.NewRemote(moderation.RemoteConfig{BaseURL: down.URL, Timeout: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	f, err := r.Check(ctx, &moderation.Input{Text: "Photosynthesis makes glucose."})
	if err != nil {
		panic(err)
	}
	fmt.Println(f[0].Action, f[0], errors.Is(f[0].Err, moderation.ErrRemote))
	// Output:
	// 0 []
	// 3 [remote:harassment remote:harassment/threatening remote:violence]
	// block remote:unavailable true
}
