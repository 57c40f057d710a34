// Package lstm is seqclf's LSTM engine: stacked LSTM layers over padded batches, pooling over
// each sample's real steps, a dense classifier head, softmax cross-entropy, backpropagation
// through time, and the optimizers that train it.
//
// # The cell
//
// One layer is one cell with num_units (H) neurons run time_step (T) times, its weights shared by
// every step. At step t it reads the input x_t (batch_size × input_dim) and its own previous output
// h_{t-1} (batch_size × H), and four fully connected layers of H neurons compute, for each sample,
//
//	z     = [x_t, h_{t-1}] · W + b            W: (input_dim+H) × 4H, b: 4H
//	i     = σ(z_i)                            input gate
//	f     = σ(z_f)                            forget gate
//	g     = tanh(z_g)                         candidate cell state
//	o     = σ(z_o)                            output gate
//	c_t   = f ⊙ c_{t-1} + i ⊙ g
//	h_t   = o ⊙ tanh(c_t)
//
// with h_{-1} = c_{-1} = 0. The columns of W and b hold the gates in the order i, f, g, o (each a
// block of H columns), the order of PyTorch's nn.LSTM and cuDNN; the first input_dim rows of W are
// the input weights, the last H rows the recurrent weights. A layer thus has the seed's
// 4·H·(H+input_dim) weights plus 4·H biases (PyTorch's b_ih + b_hh are this one b).
//
// # Padding
//
// A batch holds sequences of different lengths padded to T steps, time-major: the buffer for
// inputs and outputs is [T][batch_size][dim]. At a step t ≥ length the sample's h and c are left
// unchanged, so the state after the last step is the state at its last real token, and the
// per-step outputs at padding steps repeat it. Pooling reads only real steps: the last output
// (the seed's choice), the mean, or the elementwise max. A stack feeds each layer's outputs to the
// next, with inverted dropout between layers while training. The head is a dense layer from H to
// the classes, and the loss is the softmax cross-entropy computed with log-sum-exp, averaged over
// the batch with optional class weights as PyTorch's nn.CrossEntropyLoss does.
//
// # Basics
//
// A Model holds the parameters; a Workspace holds the buffers of one batch shape, so one model can
// serve many goroutines, each with its own workspace. A Batch holds the padded inputs, the real
// length of each sample and, for training, the labels:
//
//	b := lstm.Batch[float32]{X: x, Lengths: lengths, Steps: steps, Labels: labels}
//	loss, err := m.TrainStep(ws, b, opt, lstm.TrainOptions[float32]{}, rng) // dropout drawn from rng
//	logits := m.Forward(ws, b)                                              // inference: no dropout
//
// TrainStep runs ForwardTrain, Loss and Backward (which adds the gradients into each Param's
// Grad), then the Optimizer's step; the three are exported for what lies between, a gradient
// check say. Every random draw (initialisation, dropout) comes from the *rand.Rand passed in, so
// the same seed gives the same model.
//
// # Caveats
//
// The slices that Forward, ForwardTrain and Workspace.Outputs return belong to the workspace: they
// are overwritten by its next forward pass. Shapes that do not agree are programmer errors and
// panic; a Config that a user wrote is checked by Config.Validate.
package lstm
