package seqclf_test

import (
	"context"
	"fmt"
	"log"

	"github.com/seqclf/seqclf"
)

// A service's classifier: open the model once, classify, read the label. The model is a tiny
// spam/ham one of store/testdata.
func ExampleOpen() {
	m, err := seqclf.Open("store/testdata/model-v3-text.db")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	preds, err := m.Classify(context.Background(), "Congratulations, you won a FREE cruise! Click here now to claim your prize.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %.4f\n", preds[0].Label, preds[0].Probability)
	// Output: spam 0.8304
}

// Many texts in one call go through the model in batches; every class's probability is in
// Probabilities.
func ExampleModel_Classify() {
	m, err := seqclf.Open("store/testdata/model-v3-text.db")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	preds, err := m.Classify(context.Background(),
		"Hi Tom, the meeting moved to 3pm on Thursday; see the attached agenda.",
		"Lowest mortgage rates in 10 years. Refinance today, no credit check!!!",
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range preds {
		fmt.Printf("%-4s  ham %.4f  spam %.4f\n", p.Label, p.Probabilities["ham"], p.Probabilities["spam"])
	}
	// Output:
	// ham   ham 0.5213  spam 0.4787
	// spam  ham 0.3728  spam 0.6272
}

// A model of MNIST images reads an IDX file, one answer per image. This one trained for two
// epochs on 20 images: it has much to learn.
func ExampleModel_ClassifyImageFile() {
	m, err := seqclf.Open("store/testdata/model-v3-mnist.db")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	preds, err := m.ClassifyImageFile(context.Background(), "idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(preds), "images")
	for _, p := range preds[:3] {
		fmt.Printf("%s %.4f\n", p.Label, p.Probability)
	}
	// Output:
	// 20 images
	// 7 0.1362
	// 6 0.1285
	// 5 0.1394
}

func ExampleModel_Info() {
	m, err := seqclf.Open("store/testdata/model-v3-text.db")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	fmt.Printf("%s model, unit %s, time_step %d\n", info.Kind, info.Input.Unit, info.Input.TimeStep)
	fmt.Printf("%d layer of %d units, %s pooling, %d classes %v\n",
		info.Shape.NumLayers, info.Shape.NumUnits, info.Shape.Pooling, info.Shape.Classes, m.Classes())
	fmt.Printf("%d parameters, dictionary of %d\n", info.Parameters, info.Vocab)
	// Output:
	// text model, unit sentence, time_step 32
	// 1 layer of 8 units, max pooling, 2 classes [ham spam]
	// 2962 parameters, dictionary of 300
}
