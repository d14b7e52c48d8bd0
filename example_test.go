package companion_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
)

// A Companion against the fake server: one question, one answer.
func Example() {
	srv := companiontest.NewServer()
	defer srv.Close()

	c, err := companion.New(
		companion.WithBaseURL(srv.URL), // the real API by default
		companion.WithModel("gpt-4.1-mini"),
	)
	if err != nil {
		panic(err)
	}
	a, err := c.Ask(context.Background(), companion.Question{
		Text:    "Solve 2x + 3 = 7",
		Subject: "math",
		Grade:   8,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Source, a.FinishReason, strings.Contains(a.Text, "x = 2"))
	// Output: upstream stop true
}

// Streaming: read chunks until io.EOF, then the whole answer is there.
func ExampleCompanion_AskStream() {
	srv := companiontest.NewServer()
	defer srv.Close()
	c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini"))
	if err != nil {
		panic(err)
	}
	s, err := c.AskStream(context.Background(), companion.Question{Text: "解方程 3x - 4 = 11"})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	var text strings.Builder
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		text.WriteString(chunk.Text) // show it to the student as it arrives
	}
	a := s.Answer()
	fmt.Println(text.String() == a.Text, strings.Contains(a.Text, "x = 5"), a.Usage.CompletionTokens > 0)
	// Output: true true true
}

// Errors are typed: branch on them with errors.Is and errors.As.
func ExampleInputError() {
	c, err := companion.New(companion.WithModel("gpt-4.1-mini"))
	if err != nil {
		panic(err)
	}
	_, err = c.Ask(context.Background(), companion.Question{Text: "   "})
	var ie *companion.InputError
	fmt.Println(errors.Is(err, companion.ErrEmptyQuestion), errors.As(err, &ie) && ie.Field == "Text")
	fmt.Println(err)
	// Output:
	// true true
	// companion: invalid input: Text: empty question
}
