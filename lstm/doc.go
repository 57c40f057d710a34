// Package lstm is seqclf's recurrent engine: stacked LSTM or GRU layers, in one direction or
// two, over padded batches, pooling over each sample's real steps (last, mean, max or additive
// attention), a dense classifier head, softmax cross-entropy, backpropagation through time, and
// the optimizers that train it.
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
// # GRU
//
// With Config.Cell set to CellGRU each layer is a gated recurrent unit with PyTorch's nn.GRU
// equations, the reset gate applied after the recurrent product so that b_hn stays inside it:
//
//	r   = σ(x_t·W_ir + h_{t-1}·W_hr + b_r)
//	z   = σ(x_t·W_iz + h_{t-1}·W_hz + b_z)
//	n   = tanh(x_t·W_in + b_in + r ⊙ (h_{t-1}·W_hn + b_hn))
//	h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
//
// It goes through the LSTM's kernels: W is the same (input_dim+H) × 4H matrix, its column blocks
// r, z, n_x, n_h, so that one multiply [x_t, h_{t-1}]·W + b gives the four pre-activations. The
// input rows of n_h and the recurrent rows of n_x are zero and their gradients are cleared, so
// they stay zero; b holds b_ir+b_hr, b_iz+b_hz, b_in and b_hn. A quarter of the multiply is by
// zeros: the price of one fused product a step.
//
// # Directions
//
// With Config.Bidirectional each layer has a second set of weights (Model.Reverse) that reads
// each sample's real steps in reverse order, the padding left where it is, so that it starts at
// the sample's last real token rather than at padding. At each step the layer's output is the
// forward direction's h_t beside the backward direction's, 2H values, which the next layer, the
// pooling and the head read, in PyTorch's order. Pooling "last" takes the forward direction's
// output at the last real step beside the backward direction's at the first, its last; mean,
// max and attention pool both halves over the real steps.
//
// # Attention
//
// Pooling PoolAttention is additive attention (Bahdanau; Yang et al.'s hierarchical attention
// networks): with the top layer's output o_t (E values), u_t = tanh(o_t·W_a + b_a), s_t = u_t·v,
// α = softmax(s) over the sample's real steps only, pooled = Σ α_t·o_t. W_a is E × H, b_a and v
// hold H values.
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
// Each step multiplies only the rows of a part up to its last sample still running (at least two,
// so that the thread count never changes which kernel a row meets): a batch sorted longest first,
// as the trainer sorts it, computes next to no padding, forward and backward. The parts are cut
// where the sum of the samples' lengths reaches an equal share, so that the threads finish
// together. A pass over one sample long enough (one that would take 100 µs or more on one core,
// by the passes timed so far), with two threads, runs half of each step's units on the other
// core, with the answers of one core: on a goroutine that the first such pass starts and that
// lives as long as the process, spinning for 500 µs after a pass for the next one (which then
// hands it half its work whatever its length), parked after that. A model that only answers can
// be frozen (Model.Freeze): such passes then keep their copies of the weights from one to the
// next, and a frozen text model can remember the input projections of the tokens it meets
// (Model.MemoInputs), which such passes then copy rather than compute.
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
