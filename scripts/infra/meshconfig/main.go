// Command meshconfig-check validates the meshConfig of Istio install files
// (IstioOperator spec.meshConfig, or a Helm values file's meshConfig) by
// decoding it into istio.io/api's MeshConfig message: unknown or misspelt
// fields and wrong types fail, as they would in istiod. It prints the
// extension providers it found as JSON, for further checks by the caller.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: meshconfig-check FILE.yaml")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "meshconfig-check: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	mesh, ok := meshConfigOf(doc)
	if !ok {
		return fmt.Errorf("no meshConfig (expected spec.meshConfig of an IstioOperator or a top-level meshConfig)")
	}
	js, err := json.Marshal(mesh)
	if err != nil {
		return err
	}
	var cfg meshv1alpha1.MeshConfig
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, &cfg); err != nil {
		return fmt.Errorf("meshConfig does not decode as istio.mesh.v1alpha1.MeshConfig: %w", err)
	}
	out, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(&meshv1alpha1.MeshConfig{ExtensionProviders: cfg.ExtensionProviders})
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func meshConfigOf(doc map[string]any) (any, bool) {
	if spec, ok := doc["spec"].(map[string]any); ok {
		if m, ok := spec["meshConfig"]; ok {
			return m, true
		}
	}
	m, ok := doc["meshConfig"]
	return m, ok
}
