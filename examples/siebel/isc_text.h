// UTF-16 <-> UTF-8 at the Siebel boundary, and owned copies of the ISC list structures
// the driver hands to client-handle methods.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "isc_abi.h"

namespace cce_siebel {

static_assert(sizeof(ISC_CHAR) == 2, "ISC_CHAR must be a UTF-16 code unit");

/// Key/value pairs in driver order (ASCII keys, UTF-8 values).
using Fields = std::vector<std::pair<std::string, std::string>>;

/// Decodes a NUL-terminated UTF-16 string (NULL gives ""); lone surrogates become U+FFFD.
std::string to_utf8(const ISC_CHAR *s);
/// Encodes UTF-8 as UTF-16 code units (invalid bytes become U+FFFD), without the NUL.
std::u16string to_utf16(const std::string &s);
/// Copies a KV list Siebel passed in (NULL or a bad length gives an empty list).
Fields copy_fields(const struct ISC_KVParamList *list);
/// ASCII lower case, for case-insensitive parameter names.
std::string lower(std::string s);

/// A UTF-16 string with stable storage for the duration of a client call.
class U16 {
  public:
    explicit U16(const std::string &s) : s_(to_utf16(s)) {}
    ISC_STRING get() { return reinterpret_cast<ISC_STRING>(&s_[0]); }

  private:
    std::u16string s_;
};

/// An ISC_KVParamList that owns its strings; valid while this object lives.
class OwnedKV {
  public:
    explicit OwnedKV(const Fields &f);
    OwnedKV(const OwnedKV &) = delete;
    OwnedKV &operator=(const OwnedKV &) = delete;
    const struct ISC_KVParamList *get() const { return &list_; }

  private:
    std::vector<std::u16string> strings_;
    std::vector<struct ISC_KeyValue> items_;
    struct ISC_KVParamList list_ {};
};

/// An ISC_StrParamList that owns its strings; valid while this object lives.
class OwnedStrList {
  public:
    explicit OwnedStrList(const std::vector<std::string> &v);
    OwnedStrList(const OwnedStrList &) = delete;
    OwnedStrList &operator=(const OwnedStrList &) = delete;
    const struct ISC_StrParamList *get() const { return &list_; }

  private:
    std::vector<std::u16string> strings_;
    std::vector<ISC_STRING> items_;
    struct ISC_StrParamList list_ {};
};

/// A heap ISC_StrParamList for RequestCommandEventList: every string and the array are
/// allocated with new[]; FreeSCStrParamList releases them.
struct ISC_StrParamList new_str_list(const std::vector<std::string> &v);
/// Releases a list made by new_str_list (NULL entries and len 0 are fine).
void free_str_list(struct ISC_StrParamList list);

}  // namespace cce_siebel
