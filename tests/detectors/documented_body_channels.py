"""Airflow, effort, oximetry, leg and position channel names as public archives spell them.

Each entry cites where the names were read (the same conventions as
``tests/signals/documented_montages.py``: "owner/repo:path@commit" for a file read in that
snapshot, "code index id N" where the code search showed a file without its repository).
``roles`` maps each label to the body signal it carries (a key of
``app.core.signals.aliases.BODY_NAMES``). Used by tests/detectors/test_body_channels.py.
"""

_LUNA = "mazzottidr/nsrr_luna_mazzotti:{}"

DOCUMENTED_BODY = [
    dict(dataset="SHHS", variant="shhs1",
         source="nsrr/shhs-documentation:pages/10-montage-and-sampling-rate-information-shhs1.md"
                "@122e07fc1998",
         roles={"New Air": "flow", "Airflow": "flow", "Thor RES": "thorax",
                "Abdo RES": "abdomen", "SaO2": "spo2", "Position": "position"},
         notes="EDF labels column: 'New Air' is the ProTech thermistor M325 on channel 17, "
               "'Airflow' the alternate thermistor; Thor RES/Abdo RES Respitrace inductance "
               "belts at 10 Hz; SaO2 (the Nonin SpO2) at 1 Hz; Position a mercury gauge at "
               "1 Hz. SHHS records no nasal pressure and no leg EMG."),
    dict(dataset="SHHS", variant="shhs2 (v3/v4)",
         source="nsrr/shhs-documentation:pages/11-montage-and-sampling-rate-information-shhs2.md"
                "@1c72ed6897f7",
         roles={"Airflow": "flow", "Thor RES": "thorax", "Abdo RES": "abdomen", "SaO2": "spo2",
                "Position": "position"},
         notes="SHHS2v4 swaps the Channel column (Abdomen = Thor RES), an error of the page; "
               "the EDF labels say which belt is which."),
    dict(dataset="SHHS", variant="EDF labels upper-case (readers' spellings)",
         source="code index id 70150641713 (a C++ config loader: flow_label 'AIRFLOW', "
                "'THOR RES', 'ABDO RES', 'POSITION', 'OX STAT', 'SaO2'); code index id "
                "71617852791 (airflow picked among AIRFLOW/NEW AIR/NEWAIR/NEW A/F/AUX)",
         roles={"AIRFLOW": "flow", "NEW AIR": "flow", "NEWAIR": "flow", "new A/F": "flow",
                "THOR RES": "thorax", "ABDO RES": "abdomen", "POSITION": "position"},
         notes="SHHS EDFs spell the same channels in capitals; 'new A/F' is one SHHS "
               "airflow spelling (a thermistor, like New Air: it is flow, not pressure)."),
    dict(dataset="MESA", variant="sleep (EDF labels)",
         source="code index id 32629029902 (an arousal loader's full MESA channel list: EKG, "
                "EOG-L, EOG-R, EMG, EEG1, EEG2, Pres, Flow, Snore, Thor, Abdo, Leg, Therm, Pos, "
                "..., Pleth, OxStatus, SpO2, HR, DHR); nsrr/mesa-documentation:pages/equipment/"
                "montage-and-sampling-rate-information.md@35808c144cd7",
         roles={"Pres": "pressure", "Flow": "flow", "Therm": "flow", "Thor": "thorax",
                "Abdo": "abdomen", "SpO2": "spo2", "Leg": "leg", "Pos": "position",
                "Aux_AC": "flow", "Pleth": "pleth"},
         notes="NSRR's table lists 'Flow' as the nasal cannula and 'Aux_AC' as the Salter "
               "ThermiSense thermistor; the EDFs carry 'Pres' and 'Therm' too. 'Pres' is the "
               "cannula pressure; 'Flow' is read as airflow here (the detectors use it for "
               "apneas only when no thermal channel exists, and hypopneas use 'Pres' first). "
               "'Leg' is one Lleg/Rleg bipolar piezo channel. Pleth is the pulse waveform, "
               "never a saturation."),
    dict(dataset="CFS", variant="visit5 (CFSv1/v2)",
         source="nsrr/cfs-documentation:pages/equipment/montage-and-sampling-rate-information.md"
                "@35e1bcd6d6e0; code index id 53820168346 (pyhealth wav2sleep: THOR EFFORT, "
                "ABDO EFFORT, PlethWV)",
         roles={"Airflow": "flow", "Nasal Pres": "pressure", "Thor Effort": "thorax",
                "Abdo Effort": "abdomen", "THOR EFFORT": "thorax", "ABDO EFFORT": "abdomen",
                "SpO2": "spo2", "L Leg": "leg_left", "R Leg": "leg_right",
                "Position": "position", "PlethWV": "pleth"},
         notes="Compumedics thermistor at 32 Hz, nasal cannula at 64/128 Hz, piezo leg leads "
               "at 64 Hz."),
    dict(dataset="CHAT", variant="baseline/followup",
         source="nsrr/chat-documentation:pages/equipment/montage-and-sampling-rate-information.md"
                "@5c9397cc1ea2; code index id 53820168346 (Chest, ABD, PlethNellcor)",
         roles={"Airflow": "flow", "Cannula Flow": "pressure", "Chest": "thorax",
                "ABD": "abdomen", "SpO2": "spo2", "Position": "position",
                "Pleth": "pleth", "PlethNellcor": "pleth"},
         notes="Legs are electrode pairs RLeg1/RLeg2 and LLeg1/LLeg2 (see the pairs test)."),
    dict(dataset="MrOS", variant="visit1/visit2",
         source="nsrr/mros-documentation:pages/equipment-mros1.md@00900702cbab; "
                "nsrr/mros-documentation:pages/equipment-mros2.md@09fa43897ff3",
         roles={"Airflow": "flow", "Cannula Flow": "pressure", "Thoracic": "thorax",
                "Abdominal": "abdomen", "SAO2": "spo2", "Leg L": "leg_left",
                "Leg R": "leg_right", "Position": "position"},
         notes="'Cannula Flow' is the nasal pressure (Channel column: Nasal Pressure)."),
    dict(dataset="HEARTBEAT", variant="NSRR",
         source="nsrr/heartbeat-documentation:pages/equipment/"
                "montage-and-sampling-rate-information.md",
         roles={"Nasal": "pressure", "Thorax": "thorax", "Abdomen": "abdomen", "SpO2": "spo2",
                "Position": "position", "RD-Pleth": "pleth"},
         notes="'Nasal' is the nasal-pressure cannula (Channel column: Nasal Pressure)."),
    dict(dataset="NSRR luna aliases", variant="common/sigs.alias",
         source=_LUNA.format("common/sigs.alias@99c3577e905a"),
         roles={"Nasal Pressure": "pressure", "Thermistor": "flow", "Thor": "thorax",
                "Abdo": "abdomen", "SpO2": "spo2", "Pleth": "pleth", "R-Leg": "leg_right",
                "LLeg1-LLeg2": "leg_left", "RLeg1-RLeg2": "leg_right", "PosSensor": "position"},
         notes="Luna's harmonised names: nas_pres|Nasal Pressure, therm|Thermistor, "
               "thorax|Thor, abdomen|Abdo, spo2|SpO2, pleth|Pleth, rleg|R-Leg, "
               "lleg1_2|LLeg1-LLeg2, position|PosSensor."),
    dict(dataset="Sleep-EDF", variant="SC (sleep cassette)",
         source="../shared/data/psg/sleep-edf-SC4001E0-first5min/short_psg.edf (header), as "
                "cited in tests/signals/documented_montages.py",
         roles={"Resp oro-nasal": "flow"},
         notes="The cassette's one respiratory channel is an oro-nasal thermistor at 1 Hz: "
               "no effort belts, no SpO2, no leg EMG."),
    dict(dataset="Clinical exports", variant="Embla/RemLogic, Alice, Pro-Tech names",
         source="code index id 56298100648 (TFlow: Flow, Thermistor, Airflow, Therm, Flow "
                "Patient; Thorax: Thor, Effort THO; Abdomen: Abdo, Effort ABD; Position: "
                "Body Position); code index id 58881151513 (flow therm -> airflow, flow pres "
                "-> ptaf, effort tho -> chest, effort abd -> abd); code index id 68359437331 "
                "(CAISR label remap: thorax effort, thor res -> chest; abdominal effort -> "
                "abd; nasal pressure -> ptaf; sao2, o2 sat -> spo2)",
         roles={"Flow Patient": "flow", "Flow Therm": "flow", "Flow Pres": "pressure",
                "PTAF": "pressure", "Nasal Pressure": "pressure", "Thermistor": "flow",
                "Effort THO": "thorax", "Effort ABD": "abdomen", "Chest": "thorax",
                "Abdomen": "abdomen", "Thorax Effort": "thorax", "Abdominal Effort": "abdomen",
                "SpO2": "spo2", "O2 Sat": "spo2", "Body Position": "position",
                "LAT": "leg_left", "RAT": "leg_right"},
         notes="'Flow Patient' is listed both as thermal flow and as cannula flow by the same "
               "reader: the alias table takes it as airflow, so a study that also has a "
               "nasal pressure channel uses that one for hypopneas. LAT/RAT (left/right "
               "anterior tibialis) are the clinical leg EMG names, also used by our synthetic "
               "'full' montage."),
    dict(dataset="CAP", variant="capslpdb (leg EMG pairs)",
         source="code index ids 67115856206, 45428431019, 21478313990 (as cited in "
                "tests/signals/documented_montages.py: leg EMG DX1-DX2 / SX1-SX2; Italian "
                "TORACE, ADDOME)",
         roles={"DX1-DX2": "leg_right", "SX1-SX2": "leg_left", "TORACE": "thorax",
                "ADDOME": "abdomen"},
         notes="destro = right, sinistro = left."),
]

# electrode pairs recorded separately: (names in the file, role, the derivation found)
DOCUMENTED_PAIRS = [
    (["LLeg1", "LLeg2", "RLeg1", "Rleg2"], "leg_left", "LLeg1 - LLeg2"),   # CHAT page
    (["LLeg1", "LLeg2", "RLeg1", "Rleg2"], "leg_right", "RLeg1 - Rleg2"),
    (["DX1", "DX2", "SX1", "SX2"], "leg_right", "DX1 - DX2"),             # CAP loaders
    (["DX1", "DX2", "SX1", "SX2"], "leg_left", "SX1 - SX2"),
]
