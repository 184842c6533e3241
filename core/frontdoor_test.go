package authframe_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// The root package is what every user reads first: it keeps to the Guard, its options, the
// Principal, errors and the request view. Capabilities with a vocabulary of their own go in
// packages of their own (audit, endpoint, keys, store, oauth, apikey, ...). The limit
// leaves room for the AuthMethod values, one per way of authenticating, which callers
// switch on and so belong beside the Principal.
func TestTheFrontDoorStaysSmall(t *testing.T) {
	const limit = 102
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					if d.Recv == nil {
						names = append(names, d.Name.Name)
						continue
					}
					rt := d.Recv.List[0].Type
					if s, ok := rt.(*ast.StarExpr); ok {
						rt = s.X
					}
					if id, ok := rt.(*ast.Ident); ok && id.IsExported() {
						names = append(names, id.Name+"."+d.Name.Name)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() {
								names = append(names, s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() {
									names = append(names, n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d exported identifiers", len(names))
	if len(names) > limit {
		t.Fatalf("package authframe exports %d identifiers, more than %d: %v", len(names), limit, names)
	}
}
