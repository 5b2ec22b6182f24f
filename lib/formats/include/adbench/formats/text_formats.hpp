#pragma once
// Text formats adbench reads, parsed from bytes in memory: text point clouds ("x y z ..." rows),
// per-point ground truth ("x y z label" or "label" rows, Real3D-AD / Anomaly-ShapeNet / MiniShift),
// scores.csv of a prediction folder, and VisA's split CSV. Every value must parse completely and
// be finite; errors name the file and the line.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace adbench::formats {

/// Rows of numbers separated by spaces, tabs or commas; '#' starts a comment line. At least 3
/// values per row, all finite (also as float32): x y z of each row, row-major [N x 3].
std::vector<float> parse_text_cloud(std::string_view text, const std::string& name);

/// Ground-truth rows "x y z label" or "label": 0/1 per point (label > 0.5 is anomalous). Every
/// value finite.
std::vector<std::uint8_t> parse_point_labels(std::string_view text, const std::string& name);

struct ScoreRow {
  std::string path;  ///< as written, e.g. "bad/001.png"
  std::string key;   ///< path without its extension: "bad/001"
  double score = 0;
  int line = 0;
};

/// A prediction folder's scores.csv: the header "path,score", then "path,score" rows with finite
/// scores. InputError "<name>: ..." for an empty file, a wrong header, a header without rows, a
/// malformed row or value, and a duplicate path ("line L: duplicate row for 'bad/001' (first at
/// line K)").
std::vector<ScoreRow> parse_scores_csv(std::string_view text, const std::string& name);

struct VisaRow {
  int line = 0;
  std::string object, split, label, image, mask;
};

/// VisA's split_csv/1cls.csv: a header naming the columns object, split, label, image and mask
/// (any order, a UTF-8 BOM allowed), then one row per image. Fields may be double-quoted.
/// InputError "<name>: ..." / "<name>:<line>: ..." for an empty file, a missing column, an
/// unterminated quote, a wrong field count, an empty object or image, a split other than
/// train/test, a label other than normal/anomaly, an absolute image or mask path or one that
/// leaves the dataset root (".."), and a NUL byte.
std::vector<VisaRow> parse_visa_csv(std::string_view text, const std::string& name);

}  // namespace adbench::formats
