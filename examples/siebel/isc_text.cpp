#include "isc_text.h"

#include <cstring>
#include <new>

namespace cce_siebel {

namespace {

// Upper bounds that keep a bad pointer or length from Siebel from turning into an
// unbounded walk or allocation.
constexpr size_t kMaxStringUnits = 1 << 20;
constexpr long kMaxListLen = 10000;

void put_utf8(std::string &out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

}  // namespace

std::string to_utf8(const ISC_CHAR *s) {
    std::string out;
    if (!s) return out;
    for (size_t i = 0; s[i] != 0 && i < kMaxStringUnits; ++i) {
        char32_t c = s[i];
        if (c >= 0xD800 && c <= 0xDBFF && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
            ++i;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        put_utf8(out, c);
    }
    return out;
}

std::u16string to_utf16(const std::string &s) {
    std::u16string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        unsigned char b = static_cast<unsigned char>(s[i]);
        char32_t c = 0xFFFD;
        size_t n = 1;
        if (b < 0x80) {
            c = b;
        } else if ((b & 0xE0) == 0xC0) {
            n = 2;
        } else if ((b & 0xF0) == 0xE0) {
            n = 3;
        } else if ((b & 0xF8) == 0xF0) {
            n = 4;
        }
        if (n > 1) {
            if (i + n > s.size()) {
                n = 1;
            } else {
                c = b & (0xFF >> (n + 1));
                for (size_t k = 1; k < n; ++k) {
                    unsigned char cb = static_cast<unsigned char>(s[i + k]);
                    if ((cb & 0xC0) != 0x80) {
                        c = 0xFFFD;
                        n = 1;
                        break;
                    }
                    c = (c << 6) | (cb & 0x3F);
                }
            }
            if (n == 1) c = 0xFFFD;
        }
        i += n;
        if (c >= 0x10000 && c <= 0x10FFFF) {
            c -= 0x10000;
            out += static_cast<char16_t>(0xD800 + (c >> 10));
            out += static_cast<char16_t>(0xDC00 + (c & 0x3FF));
        } else {
            out += static_cast<char16_t>(c > 0x10FFFF ? 0xFFFD : c);
        }
    }
    return out;
}

Fields copy_fields(const struct ISC_KVParamList *list) {
    Fields f;
    if (!list || !list->dataItems || list->len <= 0 || list->len > kMaxListLen) return f;
    for (long i = 0; i < list->len; ++i) {
        f.emplace_back(to_utf8(list->dataItems[i].paramName), to_utf8(list->dataItems[i].paramValue));
    }
    return f;
}

std::string lower(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

OwnedKV::OwnedKV(const Fields &f) {
    strings_.reserve(f.size() * 2);
    for (const auto &kv : f) {
        strings_.push_back(to_utf16(kv.first));
        strings_.push_back(to_utf16(kv.second));
    }
    for (size_t i = 0; i < f.size(); ++i) {
        struct ISC_KeyValue kv {};  // members by name: their order is not documented
        kv.paramName = reinterpret_cast<ISC_STRING>(&strings_[2 * i][0]);
        kv.paramValue = reinterpret_cast<ISC_STRING>(&strings_[2 * i + 1][0]);
        items_.push_back(kv);
    }
    list_.dataItems = items_.empty() ? nullptr : items_.data();
    list_.len = static_cast<long>(items_.size());
}

OwnedStrList::OwnedStrList(const std::vector<std::string> &v) {
    for (const auto &s : v) strings_.push_back(to_utf16(s));
    for (auto &s : strings_) items_.push_back(reinterpret_cast<ISC_STRING>(&s[0]));
    list_.dataItems = items_.empty() ? nullptr : items_.data();
    list_.len = static_cast<long>(items_.size());
}

struct ISC_StrParamList new_str_list(const std::vector<std::string> &v) {
    struct ISC_StrParamList l {};
    l.dataItems = new (std::nothrow) ISC_STRING[v.size() + 1];
    if (!l.dataItems) return l;
    for (size_t i = 0; i < v.size(); ++i) {
        std::u16string u = to_utf16(v[i]);
        ISC_CHAR *p = new (std::nothrow) ISC_CHAR[u.size() + 1];
        if (p) {
            std::memcpy(p, u.data(), u.size() * sizeof(ISC_CHAR));
            p[u.size()] = 0;
        }
        l.dataItems[i] = p;
    }
    l.len = static_cast<long>(v.size());
    return l;
}

void free_str_list(struct ISC_StrParamList list) {
    if (!list.dataItems) return;
    for (long i = 0; i < list.len && i < kMaxListLen; ++i) delete[] list.dataItems[i];
    delete[] list.dataItems;
}

}  // namespace cce_siebel
