"""Add the metadata sherpa-onnx's offline NeMo CTC loader reads (ModelProto.metadata_props)."""
import onnx


def add_meta(path, meta):
    m = onnx.load(path)
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.save(m, path)


def nemo_meta(vocab_size, subsampling_factor, normalize_type="per_feature"):
    return {"model_type": "EncDecCTCModelBPE", "vocab_size": vocab_size, "subsampling_factor": subsampling_factor,
            "normalize_type": normalize_type, "is_giga_am": 0}
