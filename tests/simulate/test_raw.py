"""Raw mode: EHR-like records consistent with the curated truth."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aftercar.cli import main
from aftercar.simulate import iter_chunks
from aftercar.simulate.raw import load_drugs, raw_tables


@pytest.fixture(scope="module")
def chunk_and_raw():
    chunk = next(iter_chunks(400, seed=21))
    truth, raw = raw_tables(chunk)
    return chunk, truth, raw


def test_raw_tables_have_the_issue_columns(chunk_and_raw):
    _, truth, raw = chunk_and_raw
    assert truth["assessments"].column_names == ["patient_id", "date", "line", "response",
                                                 "confirmed", "value", "baseline",
                                                 "nadir"]  # fmt: skip
    # truth/ keeps the curated columns (plus the latent values the records came from)
    assert truth["lines"].column_names[:9] == chunk_and_raw[0].lines.column_names
    assert truth["patients"].column_names[:18] == chunk_and_raw[0].patients.column_names
    assert raw["administrations"].column_names == ["patient_id", "date", "drug", "dose", "unit",
                                                   "route"]  # fmt: skip
    assert raw["procedures"].column_names == ["patient_id", "date", "procedure"]
    assert raw["labs"].column_names == ["patient_id", "date", "test", "value", "unit"]
    assert "progression_date" not in raw["patients"].column_names
    assert "car_t_best_response" not in raw["patients"].column_names


def test_teclistamab_step_up_doses_precede_full_doses():
    chunk = next(iter_chunks(3000, seed=5))
    adm = raw_tables(chunk)[1]["administrations"].to_pandas()
    tec = adm[adm["drug"].str.contains("TECVAYLI|teclistamab", regex=True)]
    assert (tec["drug"] == "TECVAYLI 0.06 mg/kg SC step-up").any()
    step = tec[tec["drug"].str.endswith("step-up")]
    assert set(step["dose"]) == {0.06, 0.3}
    assert set(tec.loc[~tec["drug"].str.endswith("step-up"), "dose"]) == {1.5}


def test_every_dosing_day_within_the_line_and_supportive_drugs_present(chunk_and_raw):
    _, _, raw = chunk_and_raw
    adm = raw["administrations"].to_pandas()
    names = " ".join(adm["drug"].unique())
    for supportive in ("acyclovir", "ZOMETA", "IVIG", "acetaminophen", "fludarabine"):
        assert supportive in names
    assert adm["drug"].str.contains("dexamethasone|DECADRON|dexAMETHasone", regex=True).mean() > 0.1
    # pomalidomide: 21 consecutive days per 28-day cycle, minus missed doses
    pom = adm[adm["drug"].str.startswith(("POMALYST", "pomalidomide"))]
    per_patient = pom.groupby("patient_id").size()
    assert per_patient.max() >= 15


def test_procedures_cover_car_t_transplant_and_radiotherapy():
    chunk = next(iter_chunks(2000, seed=8))
    proc = raw_tables(chunk)[1]["procedures"]
    kinds = set(proc["procedure"].to_pylist())
    assert {"apheresis (leukapheresis)", "lymphodepletion (Flu/Cy)", "CAR-T cell infusion",
            "autologous stem cell transplant", "radiotherapy fraction"} <= kinds  # fmt: skip
    # every patient's index CAR-T infusion is there
    infusions = proc.filter(pc.equal(proc["procedure"], "CAR-T cell infusion"))
    assert pc.count_distinct(infusions["patient_id"]).as_py() == chunk.patients.num_rows


def test_labs_have_unit_variants_light_chain_only_and_monthly_spacing(chunk_and_raw):
    _, _, raw = chunk_and_raw
    labs = raw["labs"].to_pandas()
    spep = labs[labs["test"] == "SPEP M-spike"]
    assert set(spep["unit"]) == {"g/dL", "g/L"}
    assert set(labs.loc[labs["test"].str.startswith("Kappa"), "unit"]) == {"mg/L", "mg/dL"}
    assert (spep["value"].astype(float) == 0).any()  # light-chain-only patients
    dates = labs.drop_duplicates(["patient_id", "date"]).sort_values(["patient_id", "date"])
    gaps = dates.groupby("patient_id")["date"].diff().dropna().map(lambda d: d.days)
    assert 25 <= gaps.median() <= 31


def test_truth_best_response_mostly_reaches_the_latent_one_and_never_beats_it(chunk_and_raw):
    _, truth, _ = chunk_and_raw
    lines = truth["lines"].to_pandas().dropna(subset=["best_response"])
    rank = {c: i for i, c in enumerate(["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"])}
    shown, latent = lines["best_response"].map(rank), lines["latent_best_response"].map(rank)
    # a short line (or a switch, or an FLC-only patient's MR) shows less than the latent
    # response; a responding line that progresses before its first lab shows PD, and a
    # PD line that ends (death, switch) before any progression shows SD
    sd_for_pd = (latent == rank["PD"]) & (shown == rank["SD"])
    # an FLC-only patient's CR needs a normal ratio (IMWG 2011): it shows as sCR
    scr_for_cr = (latent == rank["CR"]) & (shown == rank["sCR"])
    ok = (shown >= latent) | (shown == rank["PD"]) | sd_for_pd | scr_for_cr
    assert ok.all()
    assert (shown == latent).mean() > 0.7


def test_truth_progression_is_the_latent_date_when_it_can_be_confirmed(chunk_and_raw):
    _, truth, _ = chunk_and_raw
    lines = truth["lines"].to_pandas()
    has = lines["progression_date"].notna()
    assert (lines.loc[has, "progression_date"] == lines.loc[has, "latent_progression_date"]).all()
    assert has.sum() >= 0.95 * lines["latent_progression_date"].notna().sum()
    patients = truth["patients"].to_pandas()
    assert (patients["progression_date"] == patients["latent_progression_date"]).all()


def test_raw_cli_is_byte_identical_across_runs(tmp_path):
    def run(folder):
        args = ["simulate", "--patients", "150", "--seed", "3", "--raw", "--format", "parquet"]
        assert main([*args, "-o", str(folder)]) == 0
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*.parquet"))}  # fmt: skip

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    assert a == b
    assert set(a) == {"truth/patients.parquet", "truth/lines.parquet", "truth/assessments.parquet",
                      "raw/patients.parquet", "raw/administrations.parquet",
                      "raw/procedures.parquet", "raw/labs.parquet"}  # fmt: skip
    labs = pq.read_table(tmp_path / "a" / "raw" / "labs.parquet")
    assert labs.num_rows > 1000
    # dictionary-encoded in memory, plain strings in the file
    assert [str(t) for t in labs.schema.types] == ["string", "date32[day]", "string", "string",
                                                   "string"]  # fmt: skip


def test_every_drug_of_every_regimen_text_has_a_schedule():
    from aftercar.simulate import load_params

    drugs = load_drugs()
    for text, names in zip(load_params().regimens.text, load_params().regimens.drugs, strict=True):
        for name in names:
            assert name in drugs, (text, name)


def test_doses_are_positive_and_dates_within_follow_up(chunk_and_raw):
    chunk, _, raw = chunk_and_raw
    adm = raw["administrations"]
    assert pc.min(adm["dose"]).as_py() > 0
    last = pc.max(pc.coalesce(chunk.patients["death_date"], chunk.patients["last_followup_date"]))
    assert pc.max(raw["labs"]["date"]).as_py() <= last.as_py()
    assert np.all(np.isfinite(adm["dose"].to_numpy()))
    assert isinstance(adm["drug"].type, pa.DataType)


def test_simulated_m_protein_and_flc_stay_within_what_patients_have():
    # the post-progression growth compounded line after line until 2026-12-06: in 20,000
    # patients 2,570 serum M-protein values exceeded 20 g/dL (up to 1,209 g/dL) and
    # involved FLC reached 64,698 mg/L; 3,000 patients had dozens of such values
    _, raw = raw_tables(next(iter_chunks(3000, seed=3)))
    labs = raw["labs"].to_pandas()
    labs = labs[labs["test"].str.contains("SPEP|free light chain")]
    value = labs["value"].astype(float) * labs["unit"].map({"g/dL": 1.0, "g/L": 0.1,
                                                            "mg/L": 1.0, "mg/dL": 10.0})
    serum = value[labs["test"] == "SPEP M-spike"]
    flc = value[labs["test"] != "SPEP M-spike"]
    assert len(serum) > 10_000 and len(flc) > 10_000
    assert serum.notna().all() and flc.notna().all()
    assert serum.max() <= 15.0  # g/dL; the growth stops at serum_growth_max_gdl (8 g/dL)
    assert flc.max() <= 25_000.0  # mg/L; the dFLC growth stops at 1,000 mg/dL
