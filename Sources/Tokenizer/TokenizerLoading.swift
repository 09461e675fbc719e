import Foundation

extension BertTokenizer {
    /// Loads the tokenizer of a Hugging Face / sentence-transformers model directory.
    ///
    /// - Vocabulary and settings: `tokenizer.json` (model.vocab, BertNormalizer, WordPiece, added tokens)
    ///   when present, else `vocab.txt` (line i = id i); `tokenizer_config.json` settings
    ///   (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`, special token names) override the
    ///   normalizer of tokenizer.json, as transformers' BertTokenizerFast does.
    /// - `maxLength`: `sentence_bert_config.json` `max_seq_length`, else `tokenizer_config.json`
    ///   `model_max_length`, else 512; capped by `config.json` `max_position_embeddings`.
    ///   (tokenizer.json's own truncation/padding sections are ignored.)
    public convenience init(directory: URL) throws {
        let tokenizerConfigURL = directory.appendingPathComponent("tokenizer_config.json")
        let tokenizerConfig = try Self.readJSONObject(tokenizerConfigURL, required: false) ?? [:]
        var options = NormalizerOptions()
        var specials = SpecialTokens()
        var prefix = "##"
        var maxChars = 100
        var added: [(String, Int32)]? = nil
        var vocabulary: [String]
        var source: String

        let tokenizerJSONURL = directory.appendingPathComponent("tokenizer.json")
        if let json = try Self.readJSONObject(tokenizerJSONURL, required: false) {
            source = tokenizerJSONURL.path
            guard let model = json["model"] as? [String: Any], (model["type"] as? String) ?? "WordPiece" == "WordPiece",
                  let vocab = model["vocab"] as? [String: Any] else {
                throw TokenizerError.badFile(source, "expected a WordPiece model with a vocab")
            }
            vocabulary = try Self.vocabularyArray(vocab, source)
            prefix = model["continuing_subword_prefix"] as? String ?? prefix
            maxChars = (model["max_input_chars_per_word"] as? NSNumber)?.intValue ?? maxChars
            if let unk = model["unk_token"] as? String { specials.unk = unk }
            if let normalizer = json["normalizer"] as? [String: Any] {
                guard normalizer["type"] as? String == "BertNormalizer" else {
                    throw TokenizerError.badFile(source, "normalizer \(normalizer["type"] ?? "?") is not supported (BertNormalizer only)")
                }
                options.cleanText = normalizer["clean_text"] as? Bool ?? true
                options.handleChineseChars = normalizer["handle_chinese_chars"] as? Bool ?? true
                options.lowercase = normalizer["lowercase"] as? Bool ?? true
                options.stripAccents = normalizer["strip_accents"] as? Bool ?? options.lowercase
            } else {
                options = NormalizerOptions(cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false)
            }
            if let pre = json["pre_tokenizer"] as? [String: Any], pre["type"] as? String != "BertPreTokenizer" {
                throw TokenizerError.badFile(source, "pre_tokenizer \(pre["type"] ?? "?") is not supported (BertPreTokenizer only)")
            }
            if let list = json["added_tokens"] as? [[String: Any]] {
                added = list.compactMap { t in
                    guard let content = t["content"] as? String, let id = (t["id"] as? NSNumber)?.int32Value,
                          (t["normalized"] as? Bool) != true else { return nil }
                    return (content, id)
                }
            }
        } else {
            let vocabURL = directory.appendingPathComponent("vocab.txt")
            source = vocabURL.path
            guard FileManager.default.fileExists(atPath: vocabURL.path) else {
                throw TokenizerError.missingFile(vocabURL.path, "neither tokenizer.json nor vocab.txt in \(directory.path)")
            }
            guard let data = FileManager.default.contents(atPath: vocabURL.path),
                  let text = String(data: data, encoding: .utf8) else {
                throw TokenizerError.badFile(vocabURL.path, "unreadable or not UTF-8")
            }
            // As tokenizers' WordPiece::read_file: one token per line, trailing whitespace trimmed.
            vocabulary = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                var end = line.endIndex
                while end > line.startIndex, line[line.index(before: end)].properties.isWhitespace {
                    end = line.index(before: end)
                }
                return String(String.UnicodeScalarView(line[line.startIndex..<end]))
            }
            if vocabulary.last == "" { vocabulary.removeLast() }
            if vocabulary.isEmpty { throw TokenizerError.badFile(vocabURL.path, "empty vocabulary") }
        }

        // tokenizer_config.json overrides
        let cfg = tokenizerConfigURL.path
        if let v = tokenizerConfig["do_lower_case"] {
            guard let b = v as? Bool else { throw TokenizerError.badFile(cfg, "do_lower_case must be true or false") }
            options.lowercase = b
            if tokenizerConfig["strip_accents"] == nil || tokenizerConfig["strip_accents"] is NSNull { options.stripAccents = b }
        }
        if let v = tokenizerConfig["strip_accents"], !(v is NSNull) {
            guard let b = v as? Bool else { throw TokenizerError.badFile(cfg, "strip_accents must be true, false or null") }
            options.stripAccents = b
        }
        if let v = tokenizerConfig["tokenize_chinese_chars"] {
            guard let b = v as? Bool else { throw TokenizerError.badFile(cfg, "tokenize_chinese_chars must be true or false") }
            options.handleChineseChars = b
        }
        func name(_ key: String) -> String? {
            if let s = tokenizerConfig[key] as? String { return s }
            return (tokenizerConfig[key] as? [String: Any])?["content"] as? String
        }
        specials.pad = name("pad_token") ?? specials.pad
        specials.unk = name("unk_token") ?? specials.unk
        specials.cls = name("cls_token") ?? specials.cls
        specials.sep = name("sep_token") ?? specials.sep
        specials.mask = name("mask_token") ?? specials.mask

        let maxLength = try Self.maxLength(directory, tokenizerConfig)
        try self.init(vocabulary: vocabulary, options: options, specialTokens: specials, continuationPrefix: prefix,
                      maxInputCharsPerWord: maxChars, addedTokens: added, maxLength: maxLength, source: source)
    }

    /// sentence_bert_config.json max_seq_length, else tokenizer_config.json model_max_length, else 512;
    /// capped by config.json max_position_embeddings.
    static func maxLength(_ directory: URL, _ tokenizerConfig: [String: Any]) throws -> Int {
        var length = 512
        let stURL = directory.appendingPathComponent("sentence_bert_config.json")
        if let st = try readJSONObject(stURL, required: false), let v = st["max_seq_length"], !(v is NSNull) {
            guard let n = (v as? NSNumber)?.intValue, n > 2 else {
                throw TokenizerError.badFile(stURL.path, "max_seq_length must be an integer > 2")
            }
            length = n
        } else if let v = tokenizerConfig["model_max_length"] as? NSNumber, v.doubleValue < 1e9 {
            length = v.intValue
            if length <= 2 {
                throw TokenizerError.badFile(directory.appendingPathComponent("tokenizer_config.json").path,
                                             "model_max_length must be > 2")
            }
        }
        let configURL = directory.appendingPathComponent("config.json")
        if let config = try readJSONObject(configURL, required: false),
           let p = (config["max_position_embeddings"] as? NSNumber)?.intValue {
            length = min(length, p)
        }
        return length
    }

    /// The JSON object in `url`; nil when the file is absent and not required.
    static func readJSONObject(_ url: URL, required: Bool) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else {
            if required { throw TokenizerError.missingFile(url.path, "required") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TokenizerError.badFile(url.path, "unreadable")
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError.badFile(url.path, "not a JSON object")
            }
            return object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.badFile(url.path, "invalid JSON (\(error.localizedDescription))")
        }
    }

    /// tokenizer.json model.vocab (token -> id) as an id-indexed array; ids must be 0..<count.
    static func vocabularyArray(_ vocab: [String: Any], _ source: String) throws -> [String] {
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < vocab.count, tokens[id] == nil else {
                throw TokenizerError.badFile(source, "model.vocab: id of \"\(token)\" is not a unique integer in 0..<\(vocab.count)")
            }
            tokens[id] = token
        }
        return tokens.map { $0! }
    }
}
