// Package hr turns an HR system's export (or a contractor register) into proposed changes
// to an access repo: joiners, leavers, extensions, movers and rehires, written as CUE edits
// a reviewer merges through a pull request.
//
// The pipeline has three pure steps and one that writes:
//
//	m, _ := hr.ParseMapping("bamboohr-mapping.cue", src) // or hr.DefaultMapping()
//	rows, _ := hr.Read("bamboohr.json", data, m)         // the export, one Row per person
//	c, _ := hr.Compute(repo, rows, m, hr.Options{Date: today, Full: true})
//	files, _ := c.Files(os.DirFS(repoDir))               // path → new content; or c.Apply(repoDir)
//
// Run does the three in one (an Import); Import.Validate loads the access repo as it would
// be, policies included, and keeps its problems for the pull request to fix. Opening the
// repo, proposing the files as a pull request (reconcile/gitops) and printing are the
// caller's.
//
// Edits keep the access repo's files as they are apart from the fields that change: an
// existing person's file is edited on its CUE syntax tree (comments and the other people
// stay) and printed with cue/format; joiners get new files. People are never deleted: a
// leaver gets an end date, so the history stays in the repo.
//
// Every problem with the export or the mapping is an *Error (or a *GuardError for the
// mass-leaver guard) naming the file and line; nothing is computed from a partly bad export.
package hr
