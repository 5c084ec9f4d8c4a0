"""Several trained translators decoding as one.

At every step each member reads the same prefix with its own decoder
state and its own attention over its own encoding of the source, and the
ensemble's next-token distribution is the renormalised average of the
members' log probabilities (a normalised geometric mean of their
distributions):

    log p(y_t | y_<t, x) = mean_m log p_m(y_t | y_<t, x) - log Z_t

`Z_t` sums the numerator over the vocabulary. The search itself
(`s2s_zoo.decoding`) is unchanged: the ensemble is one more
`Seq2SeqModel` whose `encode` and `decode_step` run the members', so beam
search, its length and coverage penalties, the decoding options and the
string-in SavedModel all work as for one model.

Members must share the target vocabulary and its special ids (the source
vocabulary is the caller's to check: `s2s_zoo.tasks.translation.ensemble`
compares the tokenizers).
"""

import keras
from keras import ops

from s2s_zoo.models.base import Seq2SeqModel
from s2s_zoo.models.base import seq2seq_inputs


@keras.saving.register_keras_serializable(package="s2s_zoo")
class Ensemble(Seq2SeqModel):
    """Decodes with several `Seq2SeqModel`s at once.

    Args:
        members (list): Trained `Seq2SeqModel`s (any architecture) with the
            same target vocabulary size and start and end ids.

    `call` returns the ensemble's log probabilities `(batch_size, T_y, V)`
    for teacher forcing; `generate` decodes; the attention weights it
    returns are the mean of the members that have attention.

    Examples:
    >>> ensemble = Ensemble([run_a.model, run_b.model])
    >>> ensemble.generate(source_ids, beam_width=5, length_penalty=1.0)
    """

    def __init__(self, members, **kwargs):
        members = [
            keras.saving.deserialize_keras_object(m)
            if isinstance(m, dict)
            else m
            for m in members
        ]
        if not members:
            raise ValueError("An ensemble needs at least one model.")
        for i, member in enumerate(members):
            if not isinstance(member, Seq2SeqModel):
                raise TypeError(
                    f"Ensemble member {i} is a {type(member).__name__}, not "
                    "a translation model (s2s_zoo.models.Seq2SeqModel)."
                )
        first = members[0]
        for i, member in enumerate(members[1:], start=1):
            for name in ("start_token_id", "end_token_id"):
                if getattr(member, name) != getattr(first, name):
                    raise ValueError(
                        f"Ensemble member {i} has {name} "
                        f"{getattr(member, name)}, member 0 has "
                        f"{getattr(first, name)}; members must share the "
                        "target vocabulary."
                    )
            sizes = (_target_size(first), _target_size(member))
            if sizes[0] != sizes[1]:
                raise ValueError(
                    f"Ensemble member {i} predicts {sizes[1]} target tokens, "
                    f"member 0 {sizes[0]}; members must share the target "
                    "vocabulary."
                )
        members = _unique_names(members)
        # A functional model over the members' own graphs: the subclasses
        # of Seq2SeqModel are functional (Keras turns the base into
        # `Functional` once one is built), so this one is too.
        inputs = seq2seq_inputs()
        outputs = _combine([member(inputs) for member in members])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.members = members
        self.start_token_id = first.start_token_id
        self.end_token_id = first.end_token_id
        self._attending = tuple(m.has_attention for m in members)

    @property
    def has_attention(self):
        return any(self._attending)

    def encode(self, encoder_token_ids):
        """Each member's `(state, memory)`, as two tuples."""
        encoded = [m.encode(encoder_token_ids) for m in self.members]
        return (
            tuple(state for state, _ in encoded),
            tuple(memory for _, memory in encoded),
        )

    def decode_step(self, token_ids, state, memory):
        logits, states, attention = [], [], []
        for member, attends, s, m in zip(
            self.members, self._attending, state, memory
        ):
            member_logits, new_state, weights = member.decode_step(
                token_ids, s, m
            )
            logits.append(member_logits)
            states.append(new_state)
            if attends:
                attention.append(ops.cast(weights, "float32"))
        if attention:
            weights = ops.mean(ops.stack(attention), axis=0)
        else:
            weights = ops.zeros((ops.shape(token_ids)[0], 0))
        return _combine(logits), tuple(states), weights

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "members": [
                keras.saving.serialize_keras_object(m) for m in self.members
            ],
        }


def _unique_names(members):
    """`members`, with a renamed copy of each model whose name an earlier,
    different model already has (a functional graph needs unique names,
    and runs trained in separate processes are all called, say,
    `rnn_search`). The caller's models are left as they are."""
    seen = {}
    unique = []
    for i, member in enumerate(members):
        if seen.setdefault(member.name, member) is not member:
            config = {**member.get_config(), "name": f"{member.name}_{i}"}
            copy = type(member).from_config(config)
            copy.set_weights(member.get_weights())
            seen[copy.name] = copy
            member = copy
        unique.append(member)
    return unique


def _combine(logits):
    """The renormalised mean of the members' log probabilities."""
    log_probs = [
        ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in logits
    ]
    mean = ops.mean(ops.stack(log_probs), axis=0)
    return ops.log_softmax(mean, axis=-1)


def _target_size(model):
    return model._arguments["target_vocabulary_size"]
