"""CBV 2.0 and GS1 Web Vocabulary code lists that EPCIS 2.0 JSON-LD writes as bare names."""

from __future__ import annotations

CBV_BASE = "https://ref.gs1.org/cbv/"
GS1_VOC_BASE = "https://gs1.org/voc/"

#: CBV 2.0 business steps (``BizStep-``).
BIZ_STEPS: frozenset[str] = frozenset(
    """
accepting arriving assembling collecting commissioning consigning creating_class_instance
cycle_counting decommissioning departing destroying disassembling dispensing encoding
entering_exiting holding inspecting installing killing loading other packing picking
receiving removing repackaging repairing replacing reserving retail_selling sampling
sensor_reporting shipping staging_outbound stock_taking stocking storing transporting
unloading unpacking void_shipping
""".split()
)

#: CBV 2.0 dispositions (``Disp-``).
DISPOSITIONS: frozenset[str] = frozenset(
    """
active available completeness_inferred completeness_verified conformant container_closed
container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement
no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved
retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown
""".split()
)

#: CBV 2.0 business transaction types (``BTT-``).
BIZ_TRANSACTION_TYPES: frozenset[str] = frozenset(
    """
bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt
""".split()
)

#: CBV 2.0 source/destination types (``SDT-``).
SOURCE_DESTINATION_TYPES: frozenset[str] = frozenset(
    """
location owning_party possessing_party
""".split()
)

#: CBV 2.0 error reasons (``ER-``).
ERROR_REASONS: frozenset[str] = frozenset(
    """
did_not_occur incorrect_data
""".split()
)

#: CBV 2.0 sensor value components (``Comp-``).
COMPONENTS: frozenset[str] = frozenset(
    """
altitude axial_distance azimuth easting elevation_angle height latitude longitude northing
polar_angle spherical_radius x y z
""".split()
)

#: GS1 Web Vocabulary measurement types used as ``sensorReport.type``.
MEASUREMENT_TYPES: frozenset[str] = frozenset(
    """
AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Altitude AmountOfSubstance
AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity
Area Capacitance Conductance Conductivity Count Density Dimensionless DoseEquivalent
DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity
ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance Irradiance
KinematicViscosity Length LinearMomentum Luminance LuminousFlux LuminousIntensity
MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate
MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power
Pressure RadiantFlux RadiantIntensity Radioactivity RelativeHumidity Resistance Resistivity
SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque
Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber
""".split()
)

#: GS1 Web Vocabulary sensor alert types used as ``sensorReport.exception``.
SENSOR_ALERT_TYPES: frozenset[str] = frozenset(
    """
ALARM_CONDITION ERROR_CONDITION
""".split()
)

#: AgriTrace's own namespace for user extensions and user vocabulary (JSON-LD prefix ``at``).
#: Every hash of an event with extensions depends on it: change it only with a migration.
AGRITRACE_NS = "https://agritrace.example/ns/"
AGRITRACE_PREFIX = "at"
