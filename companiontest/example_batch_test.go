package companiontest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/companion-go/companion/companiontest"
)

// A batch of chat completions, through go-openai: upload the requests as a
// JSONL file, create the batch, poll it until it is over, read the results
// by custom_id.
func Example_batch() {
	srv := companiontest.NewServer(companiontest.WithBatchTiming(companiontest.BatchTiming{
		Validating: 10 * time.Millisecond, InProgress: 10 * time.Millisecond, Finalizing: 10 * time.Millisecond,
	}))
	defer srv.Close()
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = srv.URL
	client := openai.NewClientWithConfig(cfg)
	ctx := context.Background()

	var input bytes.Buffer
	for id, q := range map[string]string{"q1": "What is 12*7?", "q2": "What is 9*8?"} {
		input.Write(openai.BatchChatCompletionRequest{
			CustomID: id,
			Method:   "POST",
			URL:      openai.BatchEndpointChatCompletions,
			Body: openai.ChatCompletionRequest{
				Model:    openai.GPT4oMini,
				Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: q}},
			},
		}.MarshalBatchLineItem())
		input.WriteByte('\n')
	}
	file, err := client.CreateFileBytes(ctx, openai.FileBytesRequest{
		Name: "questions.jsonl", Bytes: input.Bytes(), Purpose: openai.PurposeBatch,
	})
	if err != nil {
		log.Fatal(err)
	}
	created, err := client.CreateBatch(ctx, openai.CreateBatchRequest{
		InputFileID: file.ID, Endpoint: openai.BatchEndpointChatCompletions, CompletionWindow: "24h",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created.Status)

	batch := created.Batch
	for batch.Status != "completed" && batch.Status != "failed" && batch.Status != "expired" && batch.Status != "cancelled" {
		time.Sleep(5 * time.Millisecond)
		r, err := client.RetrieveBatch(ctx, batch.ID)
		if err != nil {
			log.Fatal(err)
		}
		batch = r.Batch
	}
	fmt.Printf("%s: %d of %d requests completed\n", batch.Status, batch.RequestCounts.Completed, batch.RequestCounts.Total)

	content, err := client.GetFileContent(ctx, *batch.OutputFileID)
	if err != nil {
		log.Fatal(err)
	}
	defer content.Close()
	answers := make(map[string]string)
	sc := bufio.NewScanner(content)
	for sc.Scan() {
		var line struct {
			CustomID string `json:"custom_id"`
			Response struct {
				StatusCode int                           `json:"status_code"`
				Body       openai.ChatCompletionResponse `json:"body"`
			} `json:"response"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			log.Fatal(err)
		}
		first, _, _ := strings.Cut(line.Response.Body.Choices[0].Message.Content, "\n")
		answers[line.CustomID] = fmt.Sprintf("%d %s", line.Response.StatusCode, first)
	}
	fmt.Println("q1:", answers["q1"])
	fmt.Println("q2:", answers["q2"])
	// Output:
	// created: validating
	// completed: 2 of 2 requests completed
	// q1: 200 12 × 7 = 84.
	// q2: 200 9 × 8 = 72.
}

// A test selects a batch's outcome with metadata: here the batch expires,
// half of its requests done and the others in the error file.
func Example_batchExpired() {
	srv := companiontest.NewServer(companiontest.WithBatchTiming(companiontest.BatchTiming{InProgress: 10 * time.Millisecond}))
	defer srv.Close()
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = srv.URL
	client := openai.NewClientWithConfig(cfg)
	ctx := context.Background()

	req := openai.UploadBatchFileRequest{FileName: "in.jsonl"}
	for _, id := range []string{"a", "b", "c", "d"} {
		req.AddChatCompletion(id, openai.ChatCompletionRequest{
			Model:    openai.GPT4oMini,
			Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "What is 2+2?"}},
		})
	}
	b, err := client.CreateBatchWithUploadFile(ctx, openai.CreateBatchWithUploadFileRequest{
		Endpoint:               openai.BatchEndpointChatCompletions,
		Metadata:               map[string]any{companiontest.MetadataOutcome: "expired"},
		UploadBatchFileRequest: req,
	})
	if err != nil {
		log.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	r, err := client.RetrieveBatch(ctx, b.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d completed, %d failed\n", r.Status, r.RequestCounts.Completed, r.RequestCounts.Failed)
	// Output:
	// expired: 2 completed, 2 failed
}
