# %% [markdown]
# # Attention is a weighted sum
#
# Every attention layer in this zoo does the same three things: it scores
# each source position against a query, turns the scores into weights that
# sum to one (a softmax), and returns the weighted sum of the values. Only
# the scoring function differs between Bahdanau, Luong and the rest. This
# page runs all of them on one query, with numbers small enough to check by
# hand.
#
# The setting: a decoder has read 我喜欢中国美食 ("I like Chinese food") and
# is about to write *food*. Each source word has an encoder state of two
# numbers (real models use hundreds); the decoder's state is the query.

# %%
import numpy as np

from s2s_zoo.layers import AdditiveAttention
from s2s_zoo.layers import ConcatAttention
from s2s_zoo.layers import CosineAttention
from s2s_zoo.layers import DotAttention
from s2s_zoo.layers import GeneralAttention

words = ["我", "喜欢", "中国", "美食"]


def pad(word, width):
    """`word` right-aligned in `width` columns (a Chinese character takes
    two columns of a monospace font)."""
    return " " * (width - 2 * len(word)) + word


values = np.array(
    [[[0.2, 1.0], [1.0, 0.1], [0.9, 0.8], [1.6, 1.4]]], dtype="float32"
)  # (batch 1, 4 source words, 2 numbers each)
query = np.array([[1.0, 0.9]], dtype="float32")  # (batch 1, 2)

# %% [markdown]
# ## By hand first
#
# The dot-product score of word \(j\) is \(e_j = q \cdot h_j\); the weights
# are \(\alpha_j = e^{e_j} / \sum_k e^{e_k}\); the context is
# \(c = \sum_j \alpha_j h_j\).

# %%
scores = values[0] @ query[0]
weights = np.exp(scores) / np.exp(scores).sum()
context = weights @ values[0]
for word, e, a in zip(words, scores, weights):
    print(f"{pad(word, 4)}  score {e:5.2f}  weight {a:.3f}")
print("weights sum to", round(float(weights.sum()), 6))
print("context", np.round(context, 3))

# %% [markdown]
# The layer gives the same numbers. Every scorer takes
# `(query, values, keys=None, value_mask=None)` and returns
# `(context, weights)`:

# %%
layer_context, layer_weights = DotAttention()(query, values)
print("weights", np.round(np.asarray(layer_weights)[0], 3))
print("context", np.round(np.asarray(layer_context)[0], 3))
assert np.allclose(layer_weights[0], weights, atol=1e-6)
assert np.allclose(layer_context[0], context, atol=1e-6)

# %% [markdown]
# ## The scoring functions side by side
#
# The learnt scorers get small hand-picked matrices here instead of trained
# ones, so the numbers can be followed:
#
# - *general* (Luong): \(q^\top W_a h_j\), with \(W_a\) weighing the second
#   number twice;
# - *additive* (Bahdanau): \(v_a^\top \tanh(W_a q + U_a h_j)\), the
#   alignment MLP of RNNsearch, with two hidden units;
# - *concat* (Luong): \(v_a^\top \tanh(W_a [q; h_j])\), the same MLP with
#   \(W_a\) and \(U_a\) stacked into one matrix;
# - *dot*, *scaled dot* (divided by \(\sqrt{d}\)) and *cosine* have no
#   weights at all.

# %%
general = GeneralAttention(units=2)
general.build(query.shape, values.shape)
general.key_projection.kernel.assign(np.array([[1.0, 0.0], [0.0, 2.0]]))

additive = AdditiveAttention(units=2)
additive.build(query.shape, values.shape)
additive.query_projection.kernel.assign(np.array([[1.0, 0.0], [0.0, 1.0]]))
additive.key_projection.kernel.assign(np.array([[1.0, -1.0], [1.0, 1.0]]))
additive.score_vector.kernel.assign(np.array([[2.0], [1.0]]))

concat = ConcatAttention(units=2)
concat.build(query.shape, values.shape)
for part in (concat.query_projection, concat.key_projection):
    part.kernel.assign(additive.key_projection.kernel)
concat.score_vector.kernel.assign(np.array([[2.0], [1.0]]))

scorers = {
    "dot": DotAttention(),
    "scaled dot": DotAttention(scale=True),
    "cosine (scale 5)": CosineAttention(scale=5.0),
    "general": general,
    "additive": additive,
    "concat": concat,
}
table = {}
print(f"{'scorer':<17}" + "".join(pad(w, 8) for w in words) + "   context")
for name, layer in scorers.items():
    context, weights = layer(query, values)
    table[name] = np.asarray(weights)[0]
    print(
        f"{name:<17}"
        + "".join(f"{a:8.3f}" for a in table[name])
        + f"   {np.round(np.asarray(context)[0], 3)}"
    )

# %% [markdown]
# Each row sums to one. The dot product prefers 美食 because its state is
# the longest vector as well as the best aligned; cosine looks at the
# direction only and spreads its weight over 中国 and 美食; scaling by
# \(\sqrt{2}\) flattens the dot product's preference. The learnt scorers can
# prefer any word: what they prefer is what training makes of \(W_a\),
# \(U_a\) and \(v_a\).

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.5, 3.2))
matrix = np.array(list(table.values()))
image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(len(words)), labels=["wo", "xihuan", "zhongguo", "meishi"])
ax.set_yticks(range(len(table)), labels=list(table))
for i in range(matrix.shape[0]):
    for j in range(matrix.shape[1]):
        ax.text(
            j,
            i,
            f"{matrix[i, j]:.2f}",
            ha="center",
            va="center",
            color="white" if matrix[i, j] > 0.5 else "black",
        )
ax.set_xlabel("source word (pinyin)")
ax.set_title("attention weights of one query")
fig.colorbar(image, ax=ax, fraction=0.03)
fig.set_label(
    "Heat map of the attention weights that six scoring functions give the "
    "four source words for one query; each row sums to one, and the dot "
    "product puts most weight on the last word, meishi (food)."
)

# %% [markdown]
# ## Padding gets no weight
#
# Batches pad short sentences. `value_mask` is `False` on padding: the
# padded position's score is set to a large negative number before the
# softmax, so its weight is exactly zero and the real words share all of it.

# %%
padded = np.concatenate([values, np.full((1, 1, 2), 9.0, "float32")], axis=1)
mask = np.array([[True, True, True, True, False]])
_, masked_weights = DotAttention()(query, padded, value_mask=mask)
print("with the mask   ", np.round(np.asarray(masked_weights)[0], 3))
_, unmasked = DotAttention()(query, padded)
print("without the mask", np.round(np.asarray(unmasked)[0], 3))

# %% [markdown]
# Without the mask, the padding vector (9, 9) takes all the weight
# and the context is garbage. With it, the four real words get the same
# weights as before. The models in the zoo pass the mask of the source
# sentence to their attention at every decoding step.
