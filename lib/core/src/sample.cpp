#include "adbench/core/sample.hpp"

#include "adbench/core/error.hpp"

namespace adbench {

std::string to_string(Modality m) {
  switch (m) {
    case Modality::Image:
      return "image";
    case Modality::MultiView:
      return "multi_view";
    case Modality::Video:
      return "video";
    case Modality::PointCloud:
      return "point_cloud";
  }
  return "?";
}

std::string plural_noun(Modality m) {
  switch (m) {
    case Modality::Image:
      return "images";
    case Modality::MultiView:
      return "multi-view samples";
    case Modality::Video:
      return "videos";
    case Modality::PointCloud:
      return "point clouds";
  }
  return "?";
}

Sample Sample::single(Modality m, std::filesystem::path path, std::optional<std::filesystem::path> truth) {
  Sample s;
  s.modality = m;
  s.units.push_back(Unit{std::move(path), 0, std::move(truth), ""});
  return s;
}

const Unit& Sample::unit() const {
  if (units.size() != 1)
    throw InternalError("sample " + rel_path + " has " + std::to_string(units.size()) + " units, not one");
  return units.front();
}

Unit& Sample::unit() {
  if (units.size() != 1)
    throw InternalError("sample " + rel_path + " has " + std::to_string(units.size()) + " units, not one");
  return units.front();
}

Prediction Prediction::single(at::Tensor map, double score, std::string origin) {
  Prediction p;
  p.score = score;
  p.units.push_back(UnitOutput{std::move(map), score});
  p.origin = std::move(origin);
  return p;
}

const at::Tensor& Prediction::map() const {
  if (units.size() != 1)
    throw InternalError("prediction has " + std::to_string(units.size()) + " unit maps, not one");
  return units.front().map;
}

}  // namespace adbench
