// Command tutor plays a scripted tutoring conversation through a Companion
// and prints, for each turn, the answer, where it came from and how long
// each stage took.
//
// By default it runs offline against companiontest with the reference
// article's latency profile (a far endpoint, about 2 s to first token).
// With OPENAI_API_KEY set it talks to the real API (OPENAI_BASE_URL and
// COMPANION_MODEL are read too).
//
//	go run ./examples/tutor
//	go run ./examples/tutor -i          # your own questions, one per line
//	OPENAI_API_KEY=sk-... go run ./examples/tutor -model gpt-4.1-mini
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/semantic"
)

// script is the scripted conversation: physics and maths, English and
// Chinese, with repeats (served by the exact cache), a paraphrase (served
// by the semantic cache) and near misses the semantic cache must refuse
// (the third law, other numbers).
var script = []companion.Question{
	{Subject: "physics", Grade: 9, Locale: "en", Text: "What is Newton's second law?"},
	{Subject: "math", Grade: 8, Locale: "en", Text: "Solve 2x + 3 = 7"},
	{Subject: "physics", Grade: 9, Locale: "zh", Text: "牛顿第二定律是什么？"},
	{Subject: "physics", Grade: 9, Locale: "en", Text: "what is newton's second law?"},
	{Subject: "physics", Grade: 9, Locale: "en", Text: "What does Newton's 2nd law say?"},
	{Subject: "physics", Grade: 9, Locale: "en", Text: "What is Newton's third law?"},
	{Subject: "math", Grade: 8, Locale: "en", Text: "Solve 2x + 3 = 9"},
	{Subject: "math", Grade: 8, Locale: "zh", Text: "解方程 3x - 4 = 11"},
	{Subject: "math", Grade: 8, Locale: "en", Text: "Solve 2x + 3 = 7"},
	{Subject: "physics", Grade: 9, Locale: "zh", Text: "牛顿第二定律是什么？"},
}

const system = "You are a patient tutor for middle-school students. Explain step by step and end with a short check question."

func main() {
	var (
		model       = flag.String("model", "", "model to ask (default: $COMPANION_MODEL, else gpt-4.1-mini)")
		baseURL     = flag.String("base-url", "", "API base URL (default: $OPENAI_BASE_URL, else the OpenAI API with a key, else a local fake)")
		interactive = flag.Bool("i", false, "read questions from stdin, one per line, instead of the script")
		stream      = flag.Bool("stream", true, "stream answers as they arrive")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdin, os.Stdout, *model, *baseURL, *interactive, *stream); err != nil {
		fmt.Fprintln(os.Stderr, "tutor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, in io.Reader, out io.Writer, model, baseURL string, interactive, stream bool) error {
	opts := []companion.Option{companion.FromEnv()}
	if os.Getenv("OPENAI_API_KEY") == "" && baseURL == "" && os.Getenv("OPENAI_BASE_URL") == "" {
		srv := companiontest.NewServer(companiontest.WithLatency(companiontest.ArticleLatency()))
		defer srv.Close()
		baseURL = srv.URL
		fmt.Fprintf(out, "offline: companiontest at %s, latency %v RTT + ~2 s to first token\n\n", srv.URL, companiontest.ArticleLatency().RTT)
	}
	if baseURL != "" {
		opts = append(opts, companion.WithBaseURL(baseURL))
	}
	if model == "" && os.Getenv("COMPANION_MODEL") == "" {
		model = "gpt-4.1-mini"
	}
	if model != "" {
		opts = append(opts, companion.WithModel(model))
	}
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		return err
	}
	defer mem.Close()
	sem, err := semantic.NewSemantic()
	if err != nil {
		return err
	}
	opts = append(opts, companion.WithExactCache(mem), companion.WithSemanticCache(sem))
	c, err := companion.New(opts...)
	if err != nil {
		return err
	}

	questions := script
	if interactive {
		questions = nil
		fmt.Fprintln(out, "Ask a question (empty line or Ctrl-D to stop):")
	}
	sc := bufio.NewScanner(in)
	for i := 0; ; i++ {
		var q companion.Question
		if interactive {
			fmt.Fprint(out, "> ")
			if !sc.Scan() || strings.TrimSpace(sc.Text()) == "" {
				return sc.Err()
			}
			q = companion.Question{Text: sc.Text(), Subject: "general"}
		} else {
			if i >= len(questions) {
				return nil
			}
			q = questions[i]
			fmt.Fprintf(out, "[%d] student: %s\n", i+1, q.Text)
		}
		q.SystemPrompt = system
		if err := turn(ctx, c, q, out, stream); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(out, "    error: %v\n\n", err)
		}
	}
}

// turn asks one question and prints the answer and its timings.
func turn(ctx context.Context, c *companion.Companion, q companion.Question, out io.Writer, stream bool) error {
	var a *companion.Answer
	fmt.Fprint(out, "    tutor: ")
	if stream {
		s, err := c.AskStream(ctx, q)
		if err != nil {
			return err
		}
		defer s.Close()
		for {
			chunk, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			fmt.Fprint(out, chunk.Text)
		}
		a = s.Answer()
	} else {
		var err error
		if a, err = c.Ask(ctx, q); err != nil {
			return err
		}
		fmt.Fprint(out, a.Text)
	}
	t := a.Timings
	src := a.Source.String()
	if a.Source == companion.SourceSemantic {
		src += fmt.Sprintf(" (similarity %.2f)", a.Similarity)
	}
	fmt.Fprintf(out, "\n    source=%s tokens=%d+%d  total=%v first-token=%v (cache %v, prompt %v, queue %v, upstream %v, post %v)\n\n",
		src, a.Usage.PromptTokens, a.Usage.CompletionTokens,
		ms(t.Total), ms(t.FirstToken), ms(t.Cache), ms(t.Prompt), ms(t.Queue), ms(t.Upstream), ms(t.Post))
	return nil
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
