"""`--batch-slices`: one training step's batch cut into slices whose
gradients are computed side by side (TensorFlow).

With one intra-op thread and one inter-op thread per core (`--threads
auto` on 2 CPUs), TensorFlow runs two independent ops at a time, each on
its own core. A step of an RNN seq2seq model is mostly one chain: the
encoder's time loop, then the decoder's, then the output layer, the loss
and the same in reverse, so one core often waits for the other (a
profile at the peer's sizes: one core busy for 20 of a 51 ms step). Cut
the batch in two and the step holds two chains with nothing in common
until the gradients are summed: the cores work on one each.

The step stays the full batch's step: each slice's loss, a mean over its
own non-padding target tokens, is weighted by its share of the batch's
tokens, so the slices' weighted losses, and their gradients, sum to the
full batch's (tested against Keras's own step). Only the dropout masks
differ, drawn per slice.

Keras has nothing of the kind: `steps_per_execution` runs several
batches one after the other, and `keras.distribution` and
`tf.distribute` replicate the weights and the optimizer per device.
"""

import keras

from s2s_zoo.data.vocabulary import PADDING_ID


def resolve_batch_slices(spec, threads=None, distributed=False, backend=None):
    """`--batch-slices` as a number of slices (1: Keras's own step).

    `auto`: on TensorFlow with one intra-op thread and several inter-op
    threads (`threads`, as `use_threads` returns it, e.g. `"1,2"`), one
    slice per inter-op thread; 1 elsewhere, and under a distribution
    (`distributed`: a `tf.distribute` strategy or `--distribute`). An
    explicit count above 1 needs the TensorFlow backend and no
    distribution (there the loss of a replica is normalized by the
    tokens of the global batch, which a slice's weight does not know).
    """
    backend = backend or keras.backend.backend()
    if spec == "auto":
        if backend != "tensorflow" or distributed or not threads:
            return 1
        intra, _, inter = str(threads).partition(",")
        if intra == "1" and inter.isdigit():
            return max(int(inter), 1)
        return 1
    try:
        slices = int(spec)
    except (TypeError, ValueError):
        slices = 0
    if slices < 1 or str(spec).strip() != str(slices):
        raise ValueError(
            f"batch_slices must be auto or a positive integer; received "
            f"{spec!r}."
        )
    if slices > 1 and backend != "tensorflow":
        raise ValueError(
            f"batch_slices={slices} needs the TensorFlow backend (this is "
            f"{backend}); use 1 or auto."
        )
    if slices > 1 and distributed:
        raise ValueError(
            f"batch_slices={slices} cannot be combined with a distribution; "
            "use 1 or auto."
        )
    return slices


def sliced_train_step(model, data, slices):
    """Keras's TensorFlow `train_step` for a token-averaged seq2seq loss,
    with the batch cut into `slices` row slices (the last ones empty when
    the batch has fewer rows). Returns the metrics, as Keras's step."""
    import tensorflow as tf

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    rows = tf.shape(y)[0]
    tokens = tf.reduce_sum(tf.cast(tf.not_equal(y, PADDING_ID), "float32"))
    weights = model.trainable_weights
    losses, gradients, predictions = [], [], []
    for index in range(slices):
        start = index * rows // slices
        stop = (index + 1) * rows // slices

        def part(tensor, start=start, stop=stop):
            return None if tensor is None else tensor[start:stop]

        y_part = part(y)
        part_tokens = tf.reduce_sum(
            tf.cast(tf.not_equal(y_part, PADDING_ID), "float32")
        )
        with tf.GradientTape() as tape:
            x_part = keras.tree.map_structure(part, x)
            y_pred = model(x_part, training=True)
            loss = model.compute_loss(
                x=x_part,
                y=y_part,
                y_pred=y_pred,
                sample_weight=part(sample_weight),
                training=True,
            ) * (part_tokens / tf.maximum(tokens, 1.0))
            scaled = model.optimizer.scale_loss(loss)
        losses.append(loss)
        gradients.append(tape.gradient(scaled, weights))
        predictions.append(y_pred)
    loss = tf.add_n(losses)
    # What Keras's step does with its loss (its `loss` in the logs).
    model._loss_tracker.update_state(loss, sample_weight=rows)
    model.optimizer.apply_gradients(
        zip([_sum(parts) for parts in zip(*gradients)], weights)
    )
    if model._compile_metrics is None:
        return model.get_metrics_result()
    # Compiled metrics see the whole batch.
    y_pred = keras.tree.map_structure(
        lambda *parts: tf.concat(parts, 0), *predictions
    )
    return model.compute_metrics(x, y, y_pred, sample_weight)


def _sum(parts):
    """One weight's gradient: the slices' summed. An embedding's
    gradients are `tf.IndexedSlices` (rows of the table): their rows are
    concatenated, as a batch with repeated tokens already gives."""
    import tensorflow as tf

    if any(p is None for p in parts):  # a weight the loss does not reach
        return None
    if all(isinstance(p, tf.IndexedSlices) for p in parts):
        return tf.IndexedSlices(
            tf.concat([p.values for p in parts], 0),
            tf.concat([p.indices for p in parts], 0),
            parts[0].dense_shape,
        )
    return tf.add_n([tf.convert_to_tensor(p) for p in parts])
