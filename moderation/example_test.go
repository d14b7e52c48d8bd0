package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// A list as users have it: a duplicate, a number that is a list fault, a
// line without a severity. The report says what became of each entry; the
// matcher finds inflected forms and keeps one-character Chinese terms out
// of ordinary compounds.
func ExampleMatcher_Report() {
	words, err := moderation.ParseWords(strings.NewReader(
		"idiot\tinsult\tmedium\nIDIOT\tinsult\thigh\n13.\tfault\n奶\tsexual\tmedium\njerk\tinsult\tlow\texact\n"))
	if err != nil {
		panic(err)
	}
	m, err := moderation.NewMatcher(words, nil)
	if err != nil {
		panic(err)
	}
	for _, f := range m.Report().Faults() {
		fmt.Println(f)
	}
	for _, h := range m.Find("13 idiots jerked; 奶奶买了牛奶") {
		fmt.Println(h.Term, h.Entry.Term, h.Entry.Severity)
	}
	// Output:
	// words[0] "idiot": merged into words[1]: same term as words[1], which wins
	// words[1] "IDIOT": kept: same term as words[0]: this one wins
	// words[2] "13.": refused: digits only: refused (set Entry.Digits to match it); normalizes to "13"; no severity given: high assumed
	// words[3] "奶": kept: one character: matches only where it is a word, not inside the compounds of lexicon/zh_compounds.txt
	// idiot IDIOT high
}
