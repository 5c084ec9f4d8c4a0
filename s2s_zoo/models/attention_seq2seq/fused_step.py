"""The RNNsearch decoder's steps that keep their state in float32.

Under a mixed policy (bfloat16 compute) the matrix products run in
bfloat16 and everything elementwise (the alignment MLP's tanh over every
source position, the softmax, the gates, maxout) in float32:
TensorFlow's elementwise kernels on a CPU are several times slower in
bfloat16 than in float32. Two users:

- the training loop of `RNNSearchDecoder.call` (additive score), through
  `_float32_attention`;
- the fused serving step (`fused_step`), which also folds the decoder's
  linear maps into per-token and per-sentence tables.

In float32 both compute what the attention layer and `step` compute.
"""

import functools

import numpy as np
from keras import ops

from s2s_zoo.layers.attention import AdditiveAttention


def float32_matmul(x, kernel):
    """`x @ kernel` in the kernel's dtype, returned in float32."""
    return ops.cast(ops.matmul(ops.cast(x, kernel.dtype), kernel), "float32")


class FusedStepMixin:
    """`serving_weights`, `fused_values` and `fused_step` (the serving
    step) and the float32 attention, for `RNNSearchDecoder`."""

    def serving_weights(self):
        """The serving step's constants, from the current weights (see
        `fused_step`):

        - `token_table` `(V, 3n + 2l)`, float32: row `y` is
          `[W E y + b ; A_y E y]`, the GRU input projection and the
          readout's embedding term of target token `y`;
        - the matrices each step multiplies by, in the compute dtype:
          `query_kernel` (`W_a`), `recurrent_zr` and `recurrent_h`
          (`U_zr`, `U`), `readout_kernel` (`A_s`), `value_readout_kernel`
          (`A_c`, used once per sentence by `fused_values`),
          `logits_kernel` (and `rank_kernel` where the readout has one);
        - in float32: `score_vector` (`v_a`, a matrix-vector product) and
          the biases `readout_bias` and `logits_bias`.

        The readout's `2l` columns are reordered pool-major (all first
        members of the maxout pools, then all second members), so that
        maxout is an elementwise maximum of `pool_size` contiguous blocks:
        the same values, without a reshape and a reduction over an axis
        of 2 (which TensorFlow runs slowly on a CPU).
        """
        output = self.deep_output
        pool, units = output.pool_size, output.maxout_units
        pool_major = np.arange(pool * units).reshape(units, pool).T.ravel()

        def weight(variable, dtype=None):
            return ops.cast(
                ops.convert_to_tensor(variable), dtype or self.compute_dtype
            )

        def readout(layer, dtype=None):
            return ops.take(weight(layer.kernel, dtype), pool_major, axis=1)

        embeddings = weight(self.embedding.embeddings, "float32")
        gru = ops.matmul(
            embeddings, weight(self.cell.kernel, "float32")
        ) + weight(self.cell.bias, "float32")
        embedded_readout = ops.matmul(
            embeddings, readout(output.input_projections[1], "float32")
        )
        recurrent = self.cell.recurrent_weights()
        weights = {
            "token_table": ops.concatenate([gru, embedded_readout], -1),
            **dict(zip(("recurrent_zr", "recurrent_h"), recurrent)),
            "readout_kernel": readout(output.input_projections[0]),
            "readout_bias": ops.take(
                weight(output.input_projections[0].bias, "float32"),
                pool_major,
            ),
            "value_readout_kernel": readout(output.input_projections[2]),
            "logits_kernel": weight(output.logits.kernel),
            "logits_bias": weight(output.logits.bias, "float32"),
        }
        if output.rank_projection is not None:
            weights["rank_kernel"] = weight(output.rank_projection.kernel)
        weights.update(self._loop_weights() or {})
        return weights

    def fused_values(self, values, weights):
        """`[C h_j ; A_c h_j]` for every annotation, once per sentence: the
        context terms of the GRU and of the readout, both linear in `c_i`,
        so one weighted sum of these rows gives both (see `fused_step`)."""
        readout = ops.matmul(values, weights["value_readout_kernel"])
        return ops.concatenate([self.project_values(values), readout], -1)

    def fused_step(
        self, token_ids, state, keys, source_mask, fused_values, weights
    ):
        """`step` with its linear maps folded into per-token and
        per-sentence tables: the same model, less work per step.

        `step` computes `W E y + b` and `A_y E y` from the embedding, and
        `C c_i` and `A_c c_i` from the context. The first two depend on the
        token only (`token_table`, one row per target token, computed once
        per translator); the last two are linear in `c_i = sum_j alpha_ij
        h_j`, so they are `sum_j alpha_ij [C h_j ; A_c h_j]` over rows
        computed once per sentence (`fused_values`).

        Under a mixed policy the matrix products run in the compute dtype
        (bfloat16) and everything elementwise (the alignment MLP's tanh,
        the softmax, the gates, maxout) in float32, and the state stays in
        float32: TensorFlow's elementwise kernels on a CPU are several
        times slower in bfloat16 than in float32. Only rounding differs
        from `step` (in float32 it is the same computation).
        """

        n3 = 3 * self.hidden_dim
        rows = ops.take(weights["token_table"], token_ids, axis=0)
        projected, embedded_readout = ops.split(rows, [n3], axis=-1)
        if "query_kernel" in weights:
            both, alignment = self._float32_attention(
                state, keys, source_mask, fused_values, weights
            )
        else:
            both, alignment = self.attention(
                ops.cast(state, self.compute_dtype),
                fused_values,
                keys=keys,
                value_mask=source_mask,
            )
            both = ops.cast(both, "float32")
            alignment = ops.cast(alignment, "float32")
        projected_context, context_readout = ops.split(both, [n3], axis=-1)
        new_state = self.cell.step(
            projected,
            projected_context,
            state,
            (weights["recurrent_zr"], weights["recurrent_h"]),
            matmul=float32_matmul,
        )
        readout_state = state if self.readout_state == "previous" else new_state
        hidden = (
            float32_matmul(readout_state, weights["readout_kernel"])
            + weights["readout_bias"]
            + embedded_readout
            + context_readout
        )
        # Pool-major columns (`serving_weights`): maxout is a maximum of
        # contiguous blocks.
        hidden = functools.reduce(
            ops.maximum, ops.split(hidden, self.deep_output.pool_size, -1)
        )
        if "rank_kernel" in weights:
            hidden = float32_matmul(hidden, weights["rank_kernel"])
        logits = (
            float32_matmul(hidden, weights["logits_kernel"])
            + weights["logits_bias"]
        )
        return logits, new_state, alignment

    def _loop_weights(self):
        """The additive score's `query_kernel` (`W_a`, compute dtype) and
        `score_vector` (`v_a`, float32) for `_float32_attention`; None for
        other scores."""
        if not isinstance(self.attention, AdditiveAttention):
            return None
        attention = self.attention
        return {
            "query_kernel": ops.cast(
                attention.query_projection.kernel, self.compute_dtype
            ),
            "score_vector": ops.cast(attention.score_vector.kernel, "float32"),
        }

    def _float32_attention(self, state, keys, source_mask, rows, weights):
        """The additive score's attention for a float32 state and float32
        keys: `(sum_j alpha_ij rows_j, alpha_i)`, both float32.

        The matrix products run in the weights' dtype (bfloat16 under a
        mixed policy), the tanh over every source position, the softmax
        and the masking in float32: TensorFlow's elementwise kernels on a
        CPU are several times slower in bfloat16 than in float32. In
        float32 it is the attention layer's computation.
        """
        query = float32_matmul(state, weights["query_kernel"])  # (N, n')
        hidden = ops.tanh(ops.expand_dims(query, 1) + keys)  # (N, T, n')
        scores = ops.squeeze(ops.matmul(hidden, weights["score_vector"]), -1)
        mask = ops.cast(source_mask, "bool")
        alignment = ops.softmax(ops.where(mask, scores, -1e9), axis=-1)
        alignment = alignment * ops.cast(mask, "float32")
        context = ops.matmul(
            ops.cast(ops.expand_dims(alignment, 1), rows.dtype), rows
        )
        return ops.cast(ops.squeeze(context, 1), "float32"), alignment
