"""Learning-rate schedules against their closed forms, their properties, saving and ``model.fit``.

Values are float32 (Keras) against float64 closed forms: ``|lr - oracle| <= RTOL * |oracle| +
ATOL * initial``. Measured over 300 Hypothesis examples per schedule, steps 0 to twice the decay
length: worst ``|lr - oracle| / initial`` 1.4e-7 (exponential), 4.1e-7 (polynomial), 5.1e-8
(piecewise), 1.8e-7 (cosine), 1.6e-7 (warmup-cosine); the relative error where the rate is
above 1e-3 x initial reaches 1.5e-5 on the cosines near their end (1 + cos(x) cancels).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import schedules as ref
from tests.common.oracles import schedules as oracle

SCHEDULE_RTOL_FLOAT32 = 1e-5
SCHEDULE_ATOL_FLOAT32 = 1e-6  # times the initial rate
SERIALIZATION_EXAMPLES = 10

initial_rates = st.floats(1e-4, 1.0)
decay_lengths = st.integers(1, 300)
fractions = st.floats(0.0, 1.0)


def values_at(schedule, steps) -> np.ndarray:
    return ref.schedule_values(schedule, steps).astype(np.float64)


def assert_schedule_close(actual, expected, initial: float) -> None:
    atol = SCHEDULE_ATOL_FLOAT32 * initial
    np.testing.assert_allclose(actual, expected, rtol=SCHEDULE_RTOL_FLOAT32, atol=atol)


@st.composite
def warmup_cosine_arguments(draw) -> dict:
    warmup = draw(st.integers(0, 200), label="warmup_steps")
    initial = draw(initial_rates, label="initial_learning_rate")
    return {
        "warmup_steps": warmup,
        "total_steps": warmup + draw(decay_lengths, label="decay_length"),
        "initial_learning_rate": initial,
        "min_learning_rate": initial * draw(fractions, label="min_fraction"),
    }


@st.composite
def piecewise_arguments(draw) -> dict:
    boundaries = draw(st.lists(st.integers(1, 500), min_size=1, max_size=5, unique=True).map(sorted))
    values = draw(st.lists(initial_rates, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1))
    return {"boundaries": boundaries, "values": values}


@given(initial=initial_rates, decay_steps=decay_lengths, rate=st.floats(0.1, 0.999), staircase=st.booleans())
def test_exponential_decay_equals_its_closed_form_at_every_step(initial, decay_steps, rate, staircase):
    schedule = ref.make_schedule(
        "exponential",
        initial_learning_rate=initial,
        decay_steps=decay_steps,
        decay_rate=rate,
        staircase=staircase,
    )
    steps = np.arange(2 * decay_steps + 1)
    expected = oracle.exponential(steps, initial, decay_steps, rate, staircase)
    assert_schedule_close(values_at(schedule, steps), expected, initial)


@given(initial=initial_rates, decay_steps=decay_lengths, end_fraction=fractions, power=st.floats(0.1, 3.0))
def test_polynomial_decay_equals_its_closed_form_at_every_step(initial, decay_steps, end_fraction, power):
    end = initial * end_fraction
    schedule = ref.make_schedule(
        "polynomial",
        initial_learning_rate=initial,
        decay_steps=decay_steps,
        end_learning_rate=end,
        power=power,
    )
    steps = np.arange(2 * decay_steps + 1)
    assert_schedule_close(
        values_at(schedule, steps), oracle.polynomial(steps, initial, decay_steps, end, power), initial
    )


@given(arguments=piecewise_arguments())
def test_piecewise_constant_decay_equals_its_closed_form_at_every_step(arguments):
    schedule = ref.make_schedule("piecewise", **arguments)
    steps = np.arange(2 * arguments["boundaries"][-1] + 1)
    expected = oracle.piecewise(steps, arguments["boundaries"], arguments["values"])
    assert_schedule_close(values_at(schedule, steps), expected, max(arguments["values"]))


@given(initial=initial_rates, decay_steps=decay_lengths, alpha=st.floats(0.0, 0.99))
def test_cosine_decay_equals_its_closed_form_at_every_step(initial, decay_steps, alpha):
    schedule = ref.make_schedule(
        "cosine", initial_learning_rate=initial, decay_steps=decay_steps, alpha=alpha
    )
    steps = np.arange(2 * decay_steps + 1)
    assert_schedule_close(
        values_at(schedule, steps), oracle.cosine(steps, initial, decay_steps, alpha), initial
    )


@given(arguments=warmup_cosine_arguments())
def test_warmup_cosine_equals_its_closed_form_at_every_step_up_to_twice_total_steps(arguments):
    schedule = ref.WarmupCosineDecay(**arguments)
    steps = np.arange(2 * arguments["total_steps"] + 1)
    expected = oracle.warmup_cosine(steps, *arguments.values())
    assert_schedule_close(values_at(schedule, steps), expected, arguments["initial_learning_rate"])


@settings(max_examples=10)
@given(initial=initial_rates, decay_steps=st.integers(1, 60), rate=st.floats(0.1, 0.999))
def test_staircase_exponential_is_constant_between_multiples_of_decay_steps(initial, decay_steps, rate):
    """Evaluated one int64 step at a time, as an optimizer does: on a vector, TensorFlow's pow
    can differ by one ulp between SIMD lanes and the scalar tail for equal inputs."""
    schedule = ref.make_schedule(
        "exponential", initial_learning_rate=initial, decay_steps=decay_steps, decay_rate=rate, staircase=True
    )
    steps = range(3 * decay_steps)
    values = np.array([float(schedule(tf.constant(step, tf.int64))) for step in steps])
    blocks = values.reshape(3, decay_steps)
    assert np.all(blocks == blocks[:, :1])
    assert np.all(blocks[1:, 0] < blocks[:-1, 0])


@given(
    initial=initial_rates,
    decay_steps=decay_lengths,
    end_fraction=st.floats(0.0, 0.99),
    power=st.floats(0.1, 3.0),
)
def test_polynomial_decay_reaches_its_end_rate_at_decay_steps_and_stays_there(
    initial, decay_steps, end_fraction, power
):
    end = initial * end_fraction
    schedule = ref.make_schedule(
        "polynomial",
        initial_learning_rate=initial,
        decay_steps=decay_steps,
        end_learning_rate=end,
        power=power,
    )
    values = values_at(schedule, np.arange(3 * decay_steps + 1))
    np.testing.assert_allclose(
        values[decay_steps:], end, rtol=SCHEDULE_RTOL_FLOAT32, atol=SCHEDULE_ATOL_FLOAT32 * initial
    )
    assert np.all(values[:decay_steps] >= values[decay_steps])


@given(arguments=piecewise_arguments())
def test_a_step_equal_to_a_piecewise_boundary_takes_the_earlier_value(arguments):
    schedule = ref.make_schedule("piecewise", **arguments)
    boundaries, values = arguments["boundaries"], np.float32(arguments["values"])
    at_boundary = values_at(schedule, boundaries)
    just_after = values_at(schedule, np.add(boundaries, 1))
    np.testing.assert_array_equal(at_boundary, values[:-1])
    np.testing.assert_array_equal(just_after, values[1:])


@given(initial=initial_rates, decay_steps=decay_lengths, alpha=st.floats(0.0, 0.99))
def test_cosine_decay_never_increases(initial, decay_steps, alpha):
    schedule = ref.make_schedule(
        "cosine", initial_learning_rate=initial, decay_steps=decay_steps, alpha=alpha
    )
    assert np.all(np.diff(values_at(schedule, np.arange(2 * decay_steps + 1))) <= 0)


@given(arguments=warmup_cosine_arguments().filter(lambda a: a["warmup_steps"] > 0))
def test_warmup_cosine_is_continuous_at_warmup_steps(arguments):
    schedule = ref.WarmupCosineDecay(**arguments)
    warmup, initial = arguments["warmup_steps"], arguments["initial_learning_rate"]
    delta = 1e-3
    left, at = (float(schedule(tf.constant(s, tf.float32))) for s in (warmup - delta, warmup))
    assert at == pytest.approx(initial, rel=SCHEDULE_RTOL_FLOAT32)
    assert abs(at - left) <= initial * (delta / warmup + SCHEDULE_RTOL_FLOAT32)


@given(arguments=warmup_cosine_arguments())
def test_warmup_cosine_increases_during_warmup_and_never_increases_after(arguments):
    values = values_at(ref.WarmupCosineDecay(**arguments), np.arange(2 * arguments["total_steps"] + 1))
    warmup = arguments["warmup_steps"]
    assert np.all(np.diff(values[: warmup + 1]) > 0)
    assert np.all(np.diff(values[warmup:]) <= 0)


@given(arguments=warmup_cosine_arguments())
def test_warmup_cosine_equals_the_minimum_rate_from_total_steps_on(arguments):
    total = arguments["total_steps"]
    values = values_at(ref.WarmupCosineDecay(**arguments), np.arange(total, 3 * total + 1))
    assert_schedule_close(values, arguments["min_learning_rate"], arguments["initial_learning_rate"])


@settings(max_examples=SERIALIZATION_EXAMPLES)
@given(arguments=warmup_cosine_arguments())
def test_warmup_cosine_round_trips_through_get_config_and_keras_serialization(arguments):
    schedule = ref.WarmupCosineDecay(**arguments)
    assert schedule.get_config() == arguments
    serialized = keras.optimizers.schedules.serialize(schedule)
    assert serialized["registered_name"] == "reference>WarmupCosineDecay"
    steps = np.arange(arguments["total_steps"] + 2)
    for copy in (
        ref.WarmupCosineDecay.from_config(schedule.get_config()),
        keras.optimizers.schedules.deserialize(serialized),
    ):
        assert type(copy) is ref.WarmupCosineDecay and copy.get_config() == arguments
        np.testing.assert_array_equal(values_at(copy, steps), values_at(schedule, steps))


@pytest.mark.parametrize("name", ref.SCHEDULE_NAMES)
def test_every_document_schedule_round_trips_through_its_config(name):
    schedule = ref.make_schedule(name)
    copy = type(schedule).from_config(schedule.get_config())
    steps = np.arange(1200)
    np.testing.assert_array_equal(values_at(copy, steps), values_at(schedule, steps))


def _tiny_model(learning_rate) -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model


def _tiny_data(n: int = 32):
    x = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
    return x, x @ np.float32([[1.0], [-2.0]])


def test_a_saved_keras_model_whose_optimizer_uses_warmup_cosine_loads_with_the_same_schedule(tmp_path):
    arguments = {
        "warmup_steps": 3,
        "total_steps": 10,
        "initial_learning_rate": 0.1,
        "min_learning_rate": 0.01,
    }
    model = _tiny_model(ref.WarmupCosineDecay(**arguments))
    model.fit(*_tiny_data(), batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    config = loaded.optimizer.get_config()["learning_rate"]
    assert config["registered_name"] == "reference>WarmupCosineDecay" and config["config"] == arguments
    assert int(loaded.optimizer.iterations) == 4
    expected = oracle.warmup_cosine(4, *arguments.values())
    assert float(keras.ops.convert_to_numpy(loaded.optimizer.learning_rate)) == pytest.approx(expected)


class _RecordLearningRate(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.records: list[tuple[int, float]] = []

    def on_train_batch_end(self, batch, logs=None):
        optimizer = self.model.optimizer
        rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        self.records.append((int(optimizer.iterations), rate))


def test_inside_fit_the_optimizers_learning_rate_is_the_schedule_at_its_int64_iterations():
    """16 steps across warmup (3), decay (to 10) and the clamp after it."""
    arguments = {
        "warmup_steps": 3,
        "total_steps": 10,
        "initial_learning_rate": 0.1,
        "min_learning_rate": 0.01,
    }
    model = _tiny_model(ref.WarmupCosineDecay(**arguments))
    recorder = _RecordLearningRate()
    model.fit(*_tiny_data(), batch_size=4, epochs=2, verbose=0, callbacks=[recorder])
    assert model.optimizer.iterations.dtype == "int64"
    iterations, rates = (np.array(column) for column in zip(*recorder.records, strict=True))
    np.testing.assert_array_equal(iterations, np.arange(1, 17))
    expected = oracle.warmup_cosine(iterations, *arguments.values())
    np.testing.assert_allclose(rates, expected, rtol=SCHEDULE_RTOL_FLOAT32)


def test_warmup_cosine_accepts_an_int64_variable_inside_tf_function():
    schedule = ref.make_schedule("warmup_cosine")
    step = tf.Variable(0, dtype=tf.int64)
    rate_at = tf.function(lambda: schedule(step))
    for value in (0, 50, 100, 550, 1000, 1500):
        step.assign(value)
        expected = oracle.warmup_cosine(value, 100, 1000, 0.001, 0.0001)
        assert float(rate_at()) == pytest.approx(expected, rel=SCHEDULE_RTOL_FLOAT32)


def test_an_unknown_schedule_name_is_a_value_error_listing_the_valid_names():
    with pytest.raises(ValueError, match="linear") as error:
        ref.make_schedule("linear")
    assert all(name in str(error.value) for name in ref.SCHEDULE_NAMES)


DOCUMENT_CLOSED_FORMS = {
    "exponential": lambda s: oracle.exponential(s, 0.1, 100, 0.96, staircase=True),
    "polynomial": lambda s: oracle.polynomial(s, 0.1, 1000, 0.01, 0.5),
    "piecewise": lambda s: oracle.piecewise(s, [100, 200, 300], [0.1, 0.05, 0.01, 0.005]),
    "cosine": lambda s: oracle.cosine(s, 0.1, 1000),
    "warmup_cosine": lambda s: oracle.warmup_cosine(s, 100, 1000, 0.001, 0.0001),
}


def test_the_schedule_figure_draws_the_documents_four_schedules_and_the_warmup_cosine_curve():
    figure = ref.plot_schedules()
    assert len(figure.axes) == 5
    for axes, name in zip(figure.axes, ref.SCHEDULE_NAMES, strict=True):
        assert axes.get_title() == f"{ref.SCHEDULES[name].title} schedule"
        (line,) = axes.get_lines()
        steps = np.arange(1000 if name == "warmup_cosine" else 500)
        np.testing.assert_array_equal(line.get_xdata(), steps)
        assert_schedule_close(line.get_ydata(), DOCUMENT_CLOSED_FORMS[name](steps), 0.1)
