package policy

import "strings"

// attachComments gives the comments of a parsed file to its statements:
//
//   - the comment blocks above the last blank line before the first
//     statement are the policy's head comment, blank lines between them
//     becoming empty lines of its text (dropped for included files); in
//     a file without statements, the first block when a blank line (or
//     the end of the file) follows it;
//   - comment lines above a statement belong to it, blank lines between
//     comment blocks becoming empty lines of the text;
//   - a comment at the end of a statement's last line is its trailing
//     comment; comments on its other lines join the block above it;
//   - comments above '{' and '}' lines and on them pass on to the next
//     statement, so the first rule of a block owns the comment above the
//     block;
//   - comments after the last statement are the policy's end comment.
func (fp *fileParser) attachComments() {
	own := map[int]string{}
	trailing := map[int]string{}
	for _, c := range fp.lx.comments {
		if c.ownLine {
			own[c.pos.Line] = c.text
		} else {
			trailing[c.pos.Line] = c.text
		}
	}
	p := fp.st.p
	lastLine := fp.toks[len(fp.toks)-1].pos.Line
	firstStmt := lastLine + 1
	if len(fp.stmts) > 0 {
		firstStmt = fp.stmts[0].first
	}

	line := 1
	// The head comment. Empty comment lines ("#") before it carry no
	// text, and the formatter cannot write a head comment that has none:
	// they are skipped like blank lines.
	for line < firstStmt && (!fp.lx.content[line] || own[line] == "" && hasKey(own, line)) {
		line++
	}
	if _, ok := own[line]; ok && line < firstStmt {
		// The head comment runs to the last blank line above the first
		// statement: all the blocks there stand apart from it, and only
		// the block touching the statement is the statement's own.
		// Without a statement, the first block is the head comment when
		// a blank line or the end of the file follows it.
		end := firstStmt - 1
		for end >= line && fp.lx.content[end] {
			end--
		}
		if len(fp.stmts) == 0 {
			end = line
			for end < firstStmt && hasKey(own, end) {
				end++
			}
			if end <= lastLine && fp.lx.content[end] {
				end = line
			}
		}
		// Blank lines between the head comment's blocks become one
		// empty line of its text, as between the blocks above a rule.
		var block []string
		gap := false
		for l := line; l < end; l++ {
			t, ok := own[l]
			if !ok {
				gap = len(block) > 0
				continue
			}
			if gap {
				block = append(block, "")
				gap = false
			}
			block = append(block, t)
		}
		if len(block) > 0 {
			if fp.top {
				p.Comment = strings.Join(block, "\n")
			}
			line = end
		}
	}

	var pending []string
	blank := false    // an empty line precedes the pending comments, or the next statement
	gapBlank := false // an empty line follows the last pending comment
	gather := func(upto int) {
		for ; line < upto; line++ {
			if t, ok := own[line]; ok {
				if len(pending) > 0 && gapBlank {
					pending = append(pending, "")
				}
				pending = append(pending, t)
				gapBlank = false
				continue
			}
			if !fp.lx.content[line] {
				if len(pending) == 0 {
					blank = true
				} else {
					gapBlank = true
				}
			}
		}
	}
	for _, s := range fp.stmts {
		gather(s.first)
		var inner []string
		tr := ""
		for l := s.first; l <= s.last; l++ {
			if t, ok := own[l]; ok && l > s.first {
				inner = append(inner, t)
			}
			if t, ok := trailing[l]; ok {
				if l == s.last {
					tr = t
				} else {
					inner = append(inner, t)
				}
			}
		}
		line = s.last + 1
		above := strings.Join(append(pending, inner...), "\n")
		switch s.kind {
		case sHeader:
			if p.HeaderComments == nil {
				p.HeaderComments = map[string]Comments{}
			}
			c := p.HeaderComments[s.key]
			if c.Above == "" {
				c.Above = above
			}
			if c.Trailing == "" {
				c.Trailing = tr
			}
			if c == (Comments{}) {
				delete(p.HeaderComments, s.key)
			} else {
				p.HeaderComments[s.key] = c
			}
			if len(p.HeaderComments) == 0 {
				p.HeaderComments = nil
			}
		case sRule:
			s.rule.Comment, s.rule.Trailing, s.rule.BlankBefore = above, tr, blank
		case sFileRule:
			s.frule.Comment, s.frule.Trailing, s.frule.BlankBefore = above, tr, blank
		case sFiles:
			// A second files block joins the first: its comments go
			// above the one files line the formatter writes.
			f := p.Files
			if f.Comment == "" && f.Trailing == "" {
				f.Comment, f.Trailing = above, tr
			} else {
				f.Comment = joinNonEmpty(f.Comment, above, tr)
			}
		case sInclude:
			switch {
			case s.inc != nil:
				s.inc.Comment, s.inc.Trailing, s.inc.BlankBefore = above, tr, blank
			case s.firstRule >= 0:
				// The include line's comments introduce the rules it
				// brings in; the included section stands apart.
				r := p.Rules[s.firstRule]
				r.Comment = joinNonEmpty(above, tr, r.Comment)
				r.BlankBefore = true
			default:
				pending = append(pending, inner...)
				if tr != "" {
					pending = append(pending, tr)
				}
				continue
			}
		case sBlock:
			pending = append(pending, inner...)
			if tr != "" {
				pending = append(pending, tr)
			}
			continue
		}
		pending, blank, gapBlank = nil, false, false
	}
	gather(lastLine + 1)
	if fp.top && len(pending) > 0 {
		p.EndComment = strings.Join(pending, "\n")
	}
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func hasKey(m map[int]string, k int) bool {
	_, ok := m[k]
	return ok
}
