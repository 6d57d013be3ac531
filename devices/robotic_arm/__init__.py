from devices.robotic_arm._device import Gripper, RoboticArm
from devices.robotic_arm._driver import ArmDriver, AsciiArmDriver

__all__ = ["ArmDriver", "AsciiArmDriver", "Gripper", "RoboticArm"]
